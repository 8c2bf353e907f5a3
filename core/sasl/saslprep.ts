import { SaslError } from '../errors.js';

/**
 * SASLprep (RFC 4013), the stringprep profile (RFC 3454) that SCRAM applies to user names and passwords so
 * that the same password typed on two keyboards hashes the same.
 *
 * Steps, in RFC order: map (B.1 to nothing, then C.1.2 non-ASCII spaces to U+0020), normalise with NFKC,
 * reject prohibited output (RFC 4013 section 2.3), then check bidirectional text (RFC 3454 section 6).
 *
 * Two deliberate deviations, both forced by JavaScript knowing only the current Unicode version and not the
 * Unicode 3.2 tables stringprep was frozen on:
 * - Unassigned code points are allowed (the "query" flavour). Rejecting them would need the 3.2 table, and
 *   characters assigned since (emoji, for one) would otherwise lock a user out.
 * - Bidi categories are approximated by script, since JS regexes have no `\p{Bidi_Class}`: a letter of the
 *   Hebrew, Arabic, Syriac or Thaana scripts (the right-to-left scripts of Unicode 3.2) counts as RandALCat,
 *   any other letter or spacing mark as LCat. Digits, punctuation and combining marks are neither, as in the
 *   real tables, so "\u0627\u0031" (alef, digit one) is still rejected.
 */
export function saslprep(input: string): string {
  // Printable ASCII maps to itself under every step, and it is what nearly every user name and password is.
  if (PRINTABLE_ASCII.test(input)) return input;

  const mapped = input.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ');
  const output = mapped.normalize('NFKC');

  const prohibited = PROHIBITED.exec(output);
  if (prohibited !== null) {
    const codePoint = prohibited[0].codePointAt(0)!;
    throw new SaslError(`SASLprep: prohibited character U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`);
  }

  if (RAND_AL.test(output)) {
    if (L_CAT.test(output)) throw new SaslError('SASLprep: mixes right-to-left and left-to-right text');
    if (!STARTS_RAND_AL.test(output) || !ENDS_RAND_AL.test(output)) {
      throw new SaslError('SASLprep: right-to-left text must start and end with a right-to-left character');
    }
  }
  return output;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** RFC 3454 table B.1, "commonly mapped to nothing" (soft hyphen, joiners, variation selectors, BOM...). */
const MAPPED_TO_NOTHING = /[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/g;

/**
 * RFC 3454 table C.1.2, non-ASCII spaces. U+200B is in both tables; B.1 runs first and removes it, which is
 * what a zero-width space should become.
 */
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g;

/**
 * The prohibited output of RFC 4013 section 2.3: C.1.2 non-ASCII spaces, C.2.1 ASCII controls, C.2.2
 * non-ASCII controls, C.3 private use (`\p{Co}`), C.4 non-characters, C.5 surrogates (`\p{Cs}` matches lone
 * ones under the `u` flag), C.6 inappropriate for plain text, C.7 ideographic description characters, C.8
 * display-changing and deprecated characters, C.9 tagging characters. The tables are copied whole even where
 * the earlier steps make an entry unreachable (C.1.2 is mapped away; NFKC turns C.8's U+0340/0341 into
 * U+0300/0301), so each line can be checked against the RFC.
 */
const PROHIBITED = new RegExp(
  '[' +
    '\\u00a0\\u1680\\u2000-\\u200b\\u202f\\u205f\\u3000' + // C.1.2
    '\\u0000-\\u001f\\u007f' + // C.2.1
    '\\u0080-\\u009f\\u06dd\\u070f\\u180e\\u200c\\u200d\\u2028\\u2029\\u2060-\\u2063\\u206a-\\u206f' + // C.2.2
    '\\ufeff\\ufff9-\\ufffc\\u{1d173}-\\u{1d17a}' + // C.2.2, continued
    '\\p{Co}\\p{Noncharacter_Code_Point}\\p{Cs}' + // C.3, C.4, C.5
    '\\ufff9-\\ufffd\\u2ff0-\\u2ffb' + // C.6, C.7
    '\\u0340\\u0341\\u200e\\u200f\\u202a-\\u202e' + // C.8 (its U+206A-206F are in C.2.2 above)
    '\\u{e0001}\\u{e0020}-\\u{e007f}' + // C.9
    ']',
  'u',
);

const RTL_SCRIPT = '[\\p{Script=Hebrew}\\p{Script=Arabic}\\p{Script=Syriac}\\p{Script=Thaana}]';
/** One RandALCat code point (approximation, see the comment on `saslprep`). */
const RAND_AL_CHAR = `(?=\\p{L})${RTL_SCRIPT}`;
const RAND_AL = new RegExp(RAND_AL_CHAR, 'u');
const STARTS_RAND_AL = new RegExp(`^${RAND_AL_CHAR}`, 'u');
const ENDS_RAND_AL = new RegExp(`${RAND_AL_CHAR}$`, 'u');
/** One LCat code point (approximation): a letter or spacing mark outside the right-to-left scripts. */
const L_CAT = new RegExp(`(?=[\\p{L}\\p{Mc}])(?!${RTL_SCRIPT})`, 'u');
