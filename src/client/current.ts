/**
 * The profile chosen in this process by `setCurrentProfile()` (Python SDK parity: the choice applies to this
 * process at once, even when `$DH_NAME` names another one, and is saved for the next processes).
 */
let current: string | undefined;

export function currentProfileOverride(): string | undefined {
  return current;
}

export function setCurrentProfileOverride(name: string | undefined): void {
  current = name;
}
