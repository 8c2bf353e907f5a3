/**
 * The RFC 2449 CAPA response, parsed into a typed set. A server's answer depends on the state it was asked
 * in (AUTHORIZATION or TRANSACTION), so each set records that state; after STLS the engine forgets the old
 * set entirely (RFC 2595 section 4) and the caller asks again.
 */

/** A value the server may set per user: before login it says `USER` ("ask me after login"). */
export interface PerUserValue<T> {
  readonly value: T;
  /** True when the server said the value can differ per user (the `USER` argument). */
  readonly perUser: boolean;
}

export interface Capabilities {
  /** The state the CAPA command was answered in. */
  readonly state: 'authorization' | 'transaction';
  readonly top: boolean;
  readonly user: boolean;
  readonly uidl: boolean;
  readonly pipelining: boolean;
  readonly respCodes: boolean;
  readonly authRespCode: boolean;
  readonly stls: boolean;
  /** SASL mechanisms, upper case, in the server's order. */
  readonly sasl: readonly string[];
  /** Minimum seconds between logins (RFC 2449 LOGIN-DELAY). */
  readonly loginDelay: PerUserValue<number> | undefined;
  /** Days a message is kept after retrieval, or `never` (RFC 2449 EXPIRE); 0 means deleted at QUIT. */
  readonly expire: PerUserValue<number | 'never'> | undefined;
  readonly implementation: string | undefined;
  /** RFC 6856 UTF8; `user` when user names and passwords may be UTF-8 too (the `USER` argument). */
  readonly utf8: { readonly user: boolean } | undefined;
  /** RFC 6856 LANG. */
  readonly lang: boolean;
  /** Tags this library does not know, kept verbatim (tag upper case, arguments as sent). */
  readonly other: readonly { readonly tag: string; readonly args: readonly string[] }[];
  /** Every line as the server sent it. */
  readonly lines: readonly string[];
}

/** Build the capability set from the lines of a CAPA listing. Unparseable values are kept in `other`. */
export function parseCapabilities(lines: readonly string[], state: Capabilities['state']): Capabilities {
  const caps = {
    state,
    top: false,
    user: false,
    uidl: false,
    pipelining: false,
    respCodes: false,
    authRespCode: false,
    stls: false,
    sasl: [] as string[],
    loginDelay: undefined as PerUserValue<number> | undefined,
    expire: undefined as PerUserValue<number | 'never'> | undefined,
    implementation: undefined as string | undefined,
    utf8: undefined as { user: boolean } | undefined,
    lang: false,
    other: [] as { tag: string; args: string[] }[],
    lines,
  };
  for (const line of lines) {
    const words = line.trim().split(/[ \t]+/);
    const tag = words[0]!.toUpperCase();
    const args = words.slice(1);
    if (tag === '') continue;
    switch (tag) {
      case 'TOP':
      case 'USER':
      case 'UIDL':
      case 'PIPELINING':
      case 'STLS':
      case 'LANG':
        caps[FLAGS[tag]] = true;
        continue;
      case 'RESP-CODES':
        caps.respCodes = true;
        continue;
      case 'AUTH-RESP-CODE':
        caps.authRespCode = true;
        continue;
      case 'SASL':
        for (const mechanism of args) {
          const name = mechanism.toUpperCase();
          if (!caps.sasl.includes(name)) caps.sasl.push(name);
        }
        continue;
      case 'IMPLEMENTATION':
        caps.implementation = line.trim().slice(tag.length).trim();
        continue;
      case 'UTF8':
        caps.utf8 = { user: args.some((arg) => arg.toUpperCase() === 'USER') };
        continue;
      case 'LOGIN-DELAY': {
        const seconds = parseCount(args[0]);
        if (seconds !== undefined) {
          caps.loginDelay = { value: seconds, perUser: isUserFlag(args[1]) };
          continue;
        }
        break;
      }
      case 'EXPIRE':
      case 'EXPIRENEVER': {
        // GNU Mailutils sends "EXPIRENEVER" without the space.
        const value = tag === 'EXPIRENEVER' ? 'NEVER' : args[0]?.toUpperCase();
        const rest = tag === 'EXPIRENEVER' ? args : args.slice(1);
        const days = value === 'NEVER' ? 'never' : parseCount(value);
        if (days !== undefined) {
          caps.expire = { value: days, perUser: isUserFlag(rest[0]) };
          continue;
        }
        break;
      }
    }
    caps.other.push({ tag, args });
  }
  return caps;
}

const FLAGS = { TOP: 'top', USER: 'user', UIDL: 'uidl', PIPELINING: 'pipelining', STLS: 'stls', LANG: 'lang' } as const;

function parseCount(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return undefined;
  return Number(text);
}

function isUserFlag(text: string | undefined): boolean {
  return text?.toUpperCase() === 'USER';
}
