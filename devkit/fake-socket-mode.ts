import { WebSocketServer } from 'ws';
import { type SlackTyping, slackCommandText } from './slack-signer.js';

/** What the app sent back for an envelope (an ack, with the reply as `payload` when it has one). */
export interface SocketModeAck {
  envelope_id: string;
  payload?: { text?: string };
}

export interface SocketModeCommand {
  envelopeId: string;
  userId: string;
  command: string;
  /** What the person typed; Slack's escaping is applied as over HTTP (see SlackTyping). */
  text: string;
  channelId?: string;
  appId?: string;
  typing?: SlackTyping;
}

export interface FakeSocketMode {
  /** The ws:// URL for `apps.connections.open` to return. */
  url: string;
  /** The app's first message back: its ack of the command. */
  ack: Promise<SocketModeAck>;
  close(): Promise<void>;
}

/**
 * A loopback stand-in for Slack's Socket Mode server: when the app connects it says hello and
 * sends one slash command envelope; `ack` resolves with what the app sent back.
 */
export async function startFakeSocketMode(cmd: SocketModeCommand): Promise<FakeSocketMode> {
  const appId = cmd.appId ?? 'A0DEVKIT';
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const address = wss.address();
  if (typeof address !== 'object' || address === null) {
    wss.close();
    throw new Error('startFakeSocketMode: could not read the port of the WebSocket server');
  }
  const ack = new Promise<SocketModeAck>((resolve) => {
    wss.on('connection', (socket) => {
      socket.on('message', (raw) => resolve(JSON.parse(String(raw))));
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: appId } }));
      socket.send(
        JSON.stringify({
          envelope_id: cmd.envelopeId,
          type: 'slash_commands',
          accepts_response_payload: true,
          payload: {
            token: 'x',
            team_id: 'T0DEVKIT',
            channel_id: cmd.channelId ?? 'C0DEVKIT',
            user_id: cmd.userId,
            user_name: cmd.userId.toLowerCase(),
            command: cmd.command,
            text: slackCommandText(cmd.command, cmd.text, cmd.typing),
            api_app_id: appId,
            response_url: 'http://127.0.0.1:1/unused',
            trigger_id: 't',
          },
        }),
      );
    });
  });
  return {
    url: `ws://127.0.0.1:${address.port}/link`,
    ack,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}
