// One Slack message per command, edited in place as each of its items (tables) moves on.
// The state lives in a Redis hash, so any worker (and any number of them) can render the whole card.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import type { Blocks, MessageRef, Notifier } from '../infra/notifier.js';
import type { Redis } from '../infra/redis.js';
import { quoteSlack } from '../infra/slack-text.js';

export type ItemState =
  | 'queued'
  | 'creating'
  | 'activating'
  | 'running'
  | 'finished'
  | 'failed'
  | 'duplicate';

export interface CardItem {
  state: ItemState;
  /** When the item entered this state (epoch ms). */
  since: number;
  /** When its job first started. */
  startedAt?: number;
  /** When it reached finished or failed. */
  finishedAt?: number;
  detail?: string;
}

export interface CardMeta {
  /** Slack mrkdwn title line. */
  title: string;
  /** Where the card is posted (a user id posts into the DM with them). */
  channel: string;
  /** Item names in display order. */
  items: string[];
  requestId: string;
}

export interface Card {
  meta: CardMeta;
  items: Map<string, CardItem>;
  ref?: MessageRef;
}

export interface CardStore {
  redis: Redis;
  prefix: string;
  clock: Clock;
}

export interface CardDeps extends CardStore {
  notifier: Notifier;
  log: Logger;
}

const TERMINAL: ReadonlySet<ItemState> = new Set(['finished', 'failed', 'duplicate']);
const LOCK_MS = 30_000;
// Item fields are prefixed so no item name can collide with meta, ref or ready.
const ITEM = 't:';

/** The Redis hash holding one card: `<prefix>:card:<requestId>`. */
export function cardKey(prefix: string, requestId: string): string {
  return `${prefix}:card:${requestId}`;
}

export function isTerminal(state: ItemState): boolean {
  return TERMINAL.has(state);
}

/** Writes the card's state before its jobs are queued: every item starts as queued. */
export async function initCard(store: CardStore, meta: CardMeta, ttlSeconds: number): Promise<void> {
  const key = cardKey(store.prefix, meta.requestId);
  const now = store.clock.now();
  const fields: string[] = ['meta', JSON.stringify(meta)];
  for (const item of meta.items) fields.push(ITEM + item, JSON.stringify({ state: 'queued', since: now }));
  await store.redis
    .multi()
    .hset(key, ...fields)
    .expire(key, Math.ceil(ttlSeconds))
    .exec();
}

/** Says the card's item list is final (duplicates marked); jobs render it only after this. */
export async function markReady(store: CardStore, requestId: string): Promise<void> {
  await store.redis.hset(cardKey(store.prefix, requestId), 'ready', '1');
}

/** Waits briefly for markReady, so a fast job does not render a card its handler is still writing. */
export async function waitReady(store: CardStore, requestId: string, timeoutMs = 5_000): Promise<void> {
  const key = cardKey(store.prefix, requestId);
  const deadline = store.clock.now() + timeoutMs;
  while (!(await store.redis.hexists(key, 'ready')) && store.clock.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Merges `patch` into one item; startedAt is kept once set, finishedAt is set on reaching finished/failed. */
export async function setItem(
  store: CardStore,
  requestId: string,
  item: string,
  patch: Partial<CardItem> & { state: ItemState },
): Promise<CardItem> {
  const key = cardKey(store.prefix, requestId);
  // Each item is written by its own job only, so read-modify-write does not race.
  const raw = await store.redis.hget(key, ITEM + item);
  const prev = raw ? (JSON.parse(raw) as CardItem) : undefined;
  const now = store.clock.now();
  const next: CardItem = {
    ...prev,
    ...patch,
    since: prev?.state === patch.state ? (prev?.since ?? now) : now,
    startedAt: prev?.startedAt ?? patch.startedAt,
  };
  if (patch.detail === undefined) delete next.detail;
  if ((patch.state === 'finished' || patch.state === 'failed') && !next.finishedAt) next.finishedAt = now;
  await store.redis.hset(key, ITEM + item, JSON.stringify(next));
  return next;
}

/** Reads a card, or undefined when it expired or never existed. */
export async function readCard(store: CardStore, requestId: string): Promise<Card | undefined> {
  const h = await store.redis.hgetall(cardKey(store.prefix, requestId));
  if (!h.meta) return undefined;
  const meta = JSON.parse(h.meta) as CardMeta;
  const items = new Map<string, CardItem>();
  for (const name of meta.items) {
    const raw = h[ITEM + name];
    if (raw) items.set(name, JSON.parse(raw) as CardItem);
  }
  return { meta, items, ref: h.ref ? (JSON.parse(h.ref) as MessageRef) : undefined };
}

const ICON: Record<ItemState, string> = {
  queued: ':hourglass:',
  creating: ':hammer_and_wrench:',
  activating: ':arrow_forward:',
  running: ':hourglass_flowing_sand:',
  finished: ':white_check_mark:',
  failed: ':x:',
  duplicate: ':repeat:',
};

const LABEL: Record<ItemState, string> = {
  queued: 'queued',
  creating: 'creating',
  activating: 'activating',
  running: 'running',
  finished: 'finished',
  failed: 'failed',
  duplicate: 'not started twice',
};

/** `1h 02m`, `3m 05s`, `12s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/**
 * Text from AWS or users, made inert for Slack mrkdwn: quoteSlack (no mentions, links or
 * broadcasts), and no backtick, so it can sit inside a code span without breaking out of it.
 */
export function slackSafe(s: string, max = 600): string {
  return quoteSlack(s, max).replace(/`/g, "'");
}

function elapsed(item: CardItem, now: number): string {
  if (item.state === 'queued') return `waiting ${formatDuration(now - item.since)}`;
  if (!item.startedAt) return '';
  if (item.finishedAt) return `after ${formatDuration(item.finishedAt - item.startedAt)}`;
  return `${formatDuration(now - item.startedAt)} so far`;
}

/** The whole card as Slack text and blocks. */
export function renderCard(card: Card, now: number): { text: string; blocks: Blocks } {
  const lines = card.meta.items.map((name) => {
    const item = card.items.get(name) ?? { state: 'queued' as const, since: now };
    const time = elapsed(item, now);
    const detail = item.detail ? `: ${slackSafe(item.detail)}` : '';
    return {
      name,
      item,
      line: `${ICON[item.state]} \`${name}\` *${LABEL[item.state]}*${detail}${time ? ` _(${time})_` : ''}`,
    };
  });
  const summary = lines.map((l) => `${l.name} ${LABEL[l.item.state]}`).join(', ');
  const blocks: Blocks = [
    { type: 'section', text: { type: 'mrkdwn', text: card.meta.title } },
    ...lines.map((l) => ({ type: 'section' as const, text: { type: 'mrkdwn' as const, text: l.line } })),
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `request ${card.meta.requestId} · updated ${new Date(now).toISOString().slice(11, 19)} UTC`,
        },
      ],
    },
  ];
  return { text: `${plainTitle(card.meta.title)}: ${summary}`, blocks };
}

function plainTitle(title: string): string {
  return title.replace(/[*_`]|:[a-z_]+:\s*/g, '');
}

/** True when every item of the card has finished, failed or was a duplicate. */
export function allTerminal(card: Card): boolean {
  return card.meta.items.every((n) => isTerminal(card.items.get(n)?.state ?? 'queued'));
}

async function renderOnce(deps: CardDeps, requestId: string): Promise<void> {
  const card = await readCard(deps, requestId);
  if (!card) return;
  const { text, blocks } = renderCard(card, deps.clock.now());
  try {
    if (card.ref) {
      await deps.notifier.update(card.ref, text, blocks);
    } else {
      const ref = await deps.notifier.post(card.meta.channel, text, blocks);
      await deps.redis.hset(cardKey(deps.prefix, requestId), 'ref', JSON.stringify(ref));
    }
  } catch (err) {
    // A Slack outage must not fail the AWS work; the next refresh tries again.
    deps.log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'could not update the progress card',
    );
  }
}

const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Re-renders the card and posts or edits its message. Safe with any number of workers: one holds a
 * short lock and renders; the others leave a "dirty" mark that makes the holder render once more,
 * so the last edit always shows the latest state and the message is posted once.
 */
export async function refreshCard(deps: CardDeps, requestId: string): Promise<void> {
  const key = cardKey(deps.prefix, requestId);
  const dirty = `${key}:dirty`;
  const lock = `${key}:lock`;
  await deps.redis.set(dirty, '1', 'PX', LOCK_MS * 2);
  for (;;) {
    const token = randomUUID();
    if ((await deps.redis.set(lock, token, 'PX', LOCK_MS, 'NX')) !== 'OK') return;
    try {
      while (await deps.redis.getdel(dirty)) await renderOnce(deps, requestId);
    } finally {
      await deps.redis.eval(RELEASE, 1, lock, token);
    }
    if (!(await deps.redis.exists(dirty))) return;
  }
}
