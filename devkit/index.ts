export * from './fake-slack.js';
export * from './fake-socket-mode.js';
export * from './free-port.js';
export * from './gpg.js';
export * from './moto.js';
export * from './redis-server.js';
export * from './slack-signer.js';
export * from './smtp-capture.js';
