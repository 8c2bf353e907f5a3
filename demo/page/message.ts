/**
 * Reading messages for the page, without the DOM: the header summary the mailbox list shows (from the
 * head `TOP n 0` returns), the whole message as the viewer shows it (parsed by postal-mime, a real MIME
 * parser), and the HTML part made safe to show: a document for a sandboxed iframe's `srcdoc` whose first
 * element is a Content-Security-Policy that lets nothing load from the network.
 *
 * Everything here is pure (postal-mime runs in Node too), so the unit tests parse the sample mailbox with
 * exactly the code the page runs.
 */
import PostalMime, { type Address, addressParser, decodeWords, type Email } from 'postal-mime';
import { toBase64 } from '../../core/bytes.js';

// ─── Headers (for the mailbox list) ────────────────────────────────────────────────────────────────────

/** One header field, unfolded; `name` in lower case. Encoded words are still encoded. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/** What the mailbox list shows of a message, decoded (RFC 2047 encoded words, RFC 6532 UTF-8). */
export interface HeaderSummary {
  /** The sender's display name, or the address when there is none. */
  readonly from: string | undefined;
  readonly fromAddress: string | undefined;
  readonly subject: string | undefined;
  /** The Date header as written. */
  readonly date: string | undefined;
  /** The Date header as milliseconds since 1970, when it parses. */
  readonly dateValue: number | undefined;
  readonly messageId: string | undefined;
}

/**
 * Bytes of a message (or its head) as text: UTF-8 when they are valid UTF-8 (RFC 6532 headers, 8bit
 * bodies), else Latin-1, which maps every byte to a character (so nothing is lost or replaced).
 */
export function decodeBytes(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

/** The header fields of a message or a head (up to the first empty line), unfolded (RFC 5322 section 2.2.3). */
export function parseHeaderFields(text: string): HeaderField[] {
  const fields: { name: string; value: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if ((line.startsWith(' ') || line.startsWith('\t')) && fields.length > 0) {
      fields[fields.length - 1]!.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) });
  }
  return fields.map(({ name, value }) => ({ name, value: value.trim() }));
}

/** The list's summary of a message from its head (what `TOP n 0` returns) or the whole message. */
export function summarizeHeaders(head: Uint8Array): HeaderSummary {
  const fields = parseHeaderFields(decodeBytes(head));
  const first = (name: string) => fields.find((field) => field.name === name)?.value;
  const fromField = first('from');
  const sender = fromField === undefined ? undefined : firstMailbox(addressParser(fromField));
  const subject = first('subject');
  const date = first('date');
  const dateValue = date === undefined ? undefined : Date.parse(date);
  return {
    from: sender === undefined ? (fromField === undefined ? undefined : decodeWords(fromField)) : sender.name || sender.address,
    fromAddress: sender?.address || undefined,
    subject: subject === undefined ? undefined : decodeWords(subject),
    date,
    dateValue: dateValue === undefined || Number.isNaN(dateValue) ? undefined : dateValue,
    messageId: first('message-id'),
  };
}

function firstMailbox(addresses: readonly Address[]): { name: string; address: string } | undefined {
  for (const address of addresses) {
    if (address.group === undefined) return { name: address.name, address: address.address };
    const member = address.group[0];
    if (member !== undefined) return { name: member.name, address: member.address };
  }
  return undefined;
}

// ─── Whole messages (for the viewer) ───────────────────────────────────────────────────────────────────

/** An attachment (or inline part) of a parsed message, decoded. */
export interface MessageAttachment {
  /** The file name the message gives, if any. */
  readonly filename: string | undefined;
  readonly mimeType: string;
  /** Decoded size in bytes. */
  readonly size: number;
  /** Content-ID without angle brackets (inline images the HTML refers to as `cid:...`). */
  readonly contentId: string | undefined;
  readonly disposition: string | undefined;
  readonly content: Uint8Array;
}

/** A whole message as the viewer shows it: the main header fields decoded, the text and HTML parts, the attachments. */
export interface ParsedMessage {
  /** The message's size in octets, as retrieved. */
  readonly size: number;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly cc: string | undefined;
  /** The Date header as written, and as milliseconds when it parses. */
  readonly date: string | undefined;
  readonly dateValue: number | undefined;
  readonly subject: string | undefined;
  readonly messageId: string | undefined;
  readonly text: string | undefined;
  readonly html: string | undefined;
  readonly attachments: readonly MessageAttachment[];
}

/** Parse a whole message (what RETR returns) with postal-mime. Rejects when postal-mime gives up. */
export async function parseMessage(bytes: Uint8Array): Promise<ParsedMessage> {
  const email: Email = await PostalMime.parse(bytes, { attachmentEncoding: 'arraybuffer' });
  const header = (name: string) => email.headers.find((h) => h.key === name)?.value.trim();
  const date = header('date');
  const dateValue = email.date === undefined ? Number.NaN : Date.parse(email.date);
  const text = email.text?.trim() === '' ? undefined : email.text;
  const html = email.html?.trim() === '' ? undefined : email.html;
  return {
    size: bytes.length,
    from: email.from === undefined ? undefined : formatAddresses([email.from]),
    to: email.to === undefined || email.to.length === 0 ? undefined : formatAddresses(email.to),
    cc: email.cc === undefined || email.cc.length === 0 ? undefined : formatAddresses(email.cc),
    date,
    dateValue: Number.isNaN(dateValue) ? undefined : dateValue,
    subject: email.subject,
    messageId: email.messageId,
    text,
    html,
    attachments: email.attachments.map((attachment) => {
      const content =
        typeof attachment.content === 'string'
          ? new TextEncoder().encode(attachment.content)
          : attachment.content instanceof Uint8Array
            ? attachment.content
            : new Uint8Array(attachment.content);
      return {
        filename: attachment.filename ?? undefined,
        mimeType: attachment.mimeType,
        size: content.length,
        contentId: attachment.contentId?.replace(/^<|>$/g, '') || undefined,
        disposition: attachment.disposition ?? undefined,
        content,
      };
    }),
  };
}

/** Addresses as one line: `Name <address>`, groups as `Group: a, b;`. */
export function formatAddresses(addresses: readonly Address[]): string {
  const one = (mailbox: { name: string; address: string }) =>
    mailbox.name === '' ? mailbox.address : mailbox.address === '' ? mailbox.name : `${mailbox.name} <${mailbox.address}>`;
  return addresses
    .map((address) => (address.group === undefined ? one(address) : `${address.name}: ${address.group.map(one).join(', ')};`))
    .join(', ');
}

// ─── The HTML part, made safe ──────────────────────────────────────────────────────────────────────────

/**
 * The policy put first in the HTML part's document: nothing may be fetched (no remote images, style sheets,
 * fonts, frames, no form submission); images only from data: URLs (inline `cid:` images are turned into
 * those), styles only inline. The sandbox blocks scripts as well; this blocks them a second time.
 */
export const HTML_POLICY =
  "default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'; font-src data:; media-src data:; base-uri 'none'; form-action 'none'";

/**
 * The iframe's sandbox: no allow-scripts and no allow-same-origin, so the message runs no script and gets an
 * opaque origin (it cannot reach the page). Links may open in a new tab (the user clicks them), outside
 * the sandbox so that the site opened works normally; forms, top navigation and everything else stay off.
 */
export const HTML_SANDBOX = 'allow-popups allow-popups-to-escape-sandbox';

/** The HTML part made safe to show, with what the notes above the frame count. */
export interface SafeHtml {
  /** The document for `srcdoc`: the policy first, then the message's HTML (inline images as data: URLs). */
  readonly srcdoc: string;
  /** References to content outside the message (remote or relative URLs) that the policy blocks. */
  readonly blockedResources: number;
  /** Script elements and event handler attributes, which the sandbox keeps from running. */
  readonly blockedScripts: number;
  /** `cid:` references shown from the message's own attachments. */
  readonly inlineImages: number;
}

/** The HTML part as a document that can be shown safely in a sandboxed iframe (see HTML_POLICY, HTML_SANDBOX). */
export function safeHtmlDocument(html: string, attachments: readonly MessageAttachment[] = []): SafeHtml {
  let inlineImages = 0;
  const byId = new Map<string, MessageAttachment>();
  for (const attachment of attachments) {
    if (attachment.contentId !== undefined && attachment.mimeType.startsWith('image/')) byId.set(attachment.contentId.toLowerCase(), attachment);
  }
  const withImages = html.replace(/\bcid:([^"'\s)>]+)/gi, (whole, id: string) => {
    let key = id;
    try {
      key = decodeURIComponent(id);
    } catch {
      // A malformed escape: look it up as it is.
    }
    const attachment = byId.get(key.toLowerCase());
    if (attachment === undefined) return whole;
    inlineImages++;
    return `data:${attachment.mimeType.replace(/[^\w.+/-]/g, '')};base64,${toBase64(attachment.content)}`;
  });
  const { resources, scripts } = countActiveContent(withImages);
  const head =
    `<meta http-equiv="Content-Security-Policy" content="${HTML_POLICY}">` +
    '<meta name="referrer" content="no-referrer">' +
    '<meta name="color-scheme" content="light">' +
    '<base target="_blank">';
  return { srcdoc: head + withImages, blockedResources: resources, blockedScripts: scripts, inlineImages };
}

/** Attributes that make a browser fetch something (on elements other than links, which the user follows). */
const FETCHING_ATTRIBUTES = new Set(['src', 'srcset', 'href', 'poster', 'background', 'data', 'lowsrc', 'dynsrc', 'xlink:href']);
/** Elements whose href is followed on a click, not fetched. */
const LINK_ELEMENTS = new Set(['a', 'area', 'base']);

/**
 * A count of what the policy and the sandbox block, for the note above the frame: external references
 * (anything fetched that is not a data: URL, in attributes and in CSS) and scripts (script elements and
 * on... handlers). An estimate from the markup, not a parse: the iframe's policy is what actually blocks.
 */
export function countActiveContent(html: string): { resources: number; scripts: number } {
  let resources = 0;
  let scripts = 0;
  const external = (url: string) => {
    const trimmed = url.trim().replace(/^["']|["']$/g, '').trim();
    return trimmed !== '' && !/^(data:|cid:|#|about:blank$)/i.test(trimmed);
  };
  for (const tag of html.matchAll(/<([a-z][\w:-]*)\b((?:[^>"']|"[^"]*"|'[^']*')*)>/gi)) {
    const name = tag[1]!.toLowerCase();
    if (name === 'script') scripts++;
    for (const attribute of tag[2]!.matchAll(/([^\s=/"'>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g)) {
      const key = attribute[1]!.toLowerCase();
      const value = attribute[2] ?? '';
      if (key.startsWith('on') && key.length > 2) scripts++;
      else if (key === 'style') resources += cssReferences(value);
      else if (FETCHING_ATTRIBUTES.has(key) && !LINK_ELEMENTS.has(name) && external(value)) {
        if (name === 'script') continue;
        resources++;
      }
    }
  }
  for (const style of html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)) resources += cssReferences(style[1]!);
  return { resources, scripts };

  function cssReferences(css: string): number {
    let count = 0;
    for (const url of css.matchAll(/url\(\s*([^)]*)\)/gi)) if (external(url[1]!)) count++;
    for (const _ of css.matchAll(/@import\s+["']/gi)) count++;
    return count;
  }
}

// ─── Attachment file names ─────────────────────────────────────────────────────────────────────────────

/** The longest file name offered for a download (file systems allow 255 bytes; leave room for a suffix). */
const MAX_FILE_NAME = 150;

/**
 * A file name from a message made safe to save: the sender chooses it, so it may hold a path (`../x`,
 * `C:\\x`), control characters, bidirectional overrides that make `gpj.exe` look like `exe.jpg`,
 * characters Windows refuses, a leading dot (a hidden file) or a reserved device name (`CON`). Those are
 * removed or replaced by `_`; an empty result becomes `fallback`.
 */
export function safeFileName(name: string | undefined, fallback: string): string {
  let safe = (name ?? '')
    .normalize('NFC')
    // Control characters, and the invisible format characters that reorder or hide text.
    .replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    // Only the last path segment: the name, not where it claims to go.
    .replace(/^.*[/\\]/, '')
    .replace(/[<>:"|?*]/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    // No hidden files, and Windows drops trailing dots and spaces.
    .replace(/^[.\s]+|[.\s]+$/g, '');
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(safe)) safe = `_${safe}`;
  const characters = [...safe];
  if (characters.length > MAX_FILE_NAME) {
    const dot = characters.lastIndexOf('.');
    const extension = dot > 0 && characters.length - dot <= 16 ? characters.slice(dot) : [];
    safe = [...characters.slice(0, MAX_FILE_NAME - extension.length), ...extension].join('');
  }
  return safe === '' ? safeFileName(fallback, 'attachment') : safe;
}

// ─── Raw source and sizes ──────────────────────────────────────────────────────────────────────────────

/** The message as text for the "raw source" view: at most its first `limit` octets. */
export function rawSource(bytes: Uint8Array, limit = 256 * 1024): { text: string; shownOctets: number } {
  const truncated = bytes.length > limit;
  const shown = truncated ? bytes.subarray(0, limit) : bytes;
  // Cut mid-character, strict UTF-8 would reject it all: decode what is valid and replace the rest.
  const text = truncated ? new TextDecoder('utf-8').decode(shown) : decodeBytes(shown);
  return { text, shownOctets: shown.length };
}

/** A size for people: `883 bytes`, `2 kB`, `1.3 MB` (decimal units), in `locale`. */
export function formatSize(octets: number, locale: string): string {
  if (octets < 1000) return new Intl.NumberFormat(locale, { style: 'unit', unit: 'byte', unitDisplay: 'long' }).format(octets);
  const [unit, value] = octets < 1_000_000 ? (['kilobyte', octets / 1000] as const) : (['megabyte', octets / 1_000_000] as const);
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: value < 10 ? 1 : 0 }).format(value);
}

/** An exact number of octets, grouped for reading: `1,300,914`. */
export function formatOctets(octets: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(octets);
}
