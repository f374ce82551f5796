/**
 * Coded errors. `message` is what the Slack user sees: it says what went wrong and how to fix it.
 * It must never contain a secret. `code` goes to logs and audit.
 */
export class ChatopsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input or a state the user can fix; retrying will not help. */
export class UserError extends ChatopsError {}

/** The caller lacks the role for this action. */
export class DeniedError extends ChatopsError {
  constructor(message: string) {
    super('denied', message);
  }
}

/** The configuration file or environment is invalid. */
export class ConfigError extends ChatopsError {
  constructor(readonly problems: string[]) {
    super('config_invalid', `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** A dependency (SMTP, AWS, Redis) failed in a way that a retry may fix. */
export class TransientError extends ChatopsError {}

/** The text safe to show a user for any thrown value: coded errors keep their message, others are generic. */
export function userMessage(err: unknown): string {
  if (err instanceof ChatopsError) return err.message;
  return 'an internal error occurred; the operators can find details in the logs by request id';
}
