/**
 * The embedded server's MailStore: the sample mailbox in memory (MemoryMailStore), which can be put back as
 * it was. Deletions committed by QUIT last until then, which is how a learner sees that QUIT commits and that
 * a dropped connection does not.
 */
import { MemoryMailStore } from '../../core/server/memory-mailbox.js';
import type { Mailbox, MailStore } from '../../core/server/mailbox.js';
import type { SampleMailbox } from './sample-mailbox.js';

/** A MailStore holding the sample mailbox, resettable while no session has a mailbox open. */
export class SampleStore implements MailStore {
  readonly #sample: SampleMailbox;
  #store: MemoryMailStore;

  constructor(sample: SampleMailbox) {
    this.#sample = sample;
    this.#store = filled(sample);
  }

  /**
   * Puts every mailbox back as the sample has it; false (and nothing changes) while a session has one open
   * (a session holds its mailbox from a successful login until it ends).
   */
  reset(): boolean {
    if ([...this.#sample.users.keys()].some((user) => this.#store.isLocked(user))) return false;
    this.#store = filled(this.#sample);
    return true;
  }

  password(user: string): Promise<string | undefined> {
    return this.#store.password(user);
  }

  open(user: string): Promise<Mailbox | 'in-use'> {
    return this.#store.open(user);
  }
}

/** A MemoryMailStore with the sample's users and messages (line ends become CRLF, UIDs are kept). */
function filled(sample: SampleMailbox): MemoryMailStore {
  const store = new MemoryMailStore();
  for (const [user, password] of sample.users) {
    store.addUser(user, password);
    for (const { uid, content } of sample.messages.get(user) ?? []) store.deliver(user, content, uid);
  }
  return store;
}
