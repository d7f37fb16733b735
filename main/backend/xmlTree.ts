/**
 * A small, strict XML parser for the SVG figures the app exports: elements, attributes, text, CDATA,
 * comments and processing instructions, with namespaces resolved. Anything a well-formed document may
 * not contain (mismatched tags, duplicate attributes, unbound prefixes, stray '&' or '<') is refused,
 * and so is every DTD: no DOCTYPE, no entity declarations, only the five predefined entities and
 * character references. A hostile file therefore cannot mean one thing here and another in a browser.
 *
 * Characters XML cannot hold (most C0 controls, lone surrogates), raw or as character references, are
 * removed before anything reads the text, so a check never sees a value the serialised file would not
 * hold ("java\0script:" is checked as "javascript:"). Comments and processing instructions are dropped.
 */
import { quoted } from '../engine/files/messageText.ts';
import { NOT_XML } from '../engine/report/svg.ts';

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface XmlAttribute {
  /** The namespace (null for an unprefixed attribute); XMLNS_NS for a namespace declaration. */
  readonly ns: string | null;
  /** The local name; for a declaration, the prefix it binds ('' for the default namespace). */
  readonly local: string;
  readonly value: string;
}

export interface XmlElement {
  readonly kind: 'element';
  readonly ns: string | null;
  readonly local: string;
  /** The name as written (prefix included), for messages. */
  readonly name: string;
  readonly attributes: readonly XmlAttribute[];
  readonly children: readonly XmlNode[];
}

export interface XmlText {
  readonly kind: 'text';
  readonly text: string;
}

export type XmlNode = XmlElement | XmlText;

export interface XmlDocument {
  /** The XML declaration's pseudo-attributes, when the document has one. */
  readonly declaration: { readonly version: string; readonly encoding?: string } | null;
  readonly root: XmlElement;
  /** What the parser itself left out, for the caller's report: characters XML cannot hold, PIs. */
  readonly removed: readonly string[];
}

/** Deeper nesting than any figure has; bounds the recursion of whoever walks the tree. */
export const MAX_DEPTH = 256;

const NAME_PART = String.raw`[\p{L}_][\p{L}\p{N}_.\-\u00B7]*`;
const QNAME = new RegExp(`(${NAME_PART})(?::(${NAME_PART}))?`, 'uy');
const SPACE = /[ \t\n]+/y;
const REFERENCE = /&(?:#x([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([A-Za-z]+));/y;
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const DECLARATION =
  /<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(["'])(1\.[0-9])\1(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\3)?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(["'])(yes|no)\5)?[ \t\n]*\?>/y;

interface RawAttribute {
  readonly qname: string;
  readonly prefix: string | null;
  readonly local: string;
  readonly value: string;
}

/** Parses `source`; every refusal goes through `refuse`, which names what is wrong and throws. */
export function parseXml(source: string, refuse: (why: string) => never): XmlDocument {
  return new Parser(source, refuse).document();
}

class Parser {
  private pos = 0;
  private readonly src: string;
  private readonly removed = new Set<string>();

  constructor(
    source: string,
    private readonly refuse: (why: string) => never,
  ) {
    // XML end-of-line handling (spec 2.11), then characters no XML document may hold.
    const text = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
    this.src = text.replace(NOT_XML, '');
    if (this.src.length !== text.length) this.removed.add('characters XML cannot hold');
  }

  document(): XmlDocument {
    const declaration = this.declaration();
    this.misc();
    if (!this.src.startsWith('<', this.pos) || this.src.startsWith('</', this.pos)) {
      this.fail('the document has no root element');
    }
    const root = this.element(new Map([['xml', XML_NS]]), 1);
    this.misc();
    if (this.pos < this.src.length) this.fail('content after the root element');
    return { declaration, root, removed: [...this.removed] };
  }

  private fail(why: string): never {
    const line = this.src.slice(0, this.pos).split('\n').length;
    return this.refuse(`${why} (line ${line})`);
  }

  private at(pattern: RegExp): RegExpExecArray | null {
    pattern.lastIndex = this.pos;
    const match = pattern.exec(this.src);
    if (match) this.pos = pattern.lastIndex;
    return match;
  }

  private expect(text: string, what: string): void {
    if (!this.src.startsWith(text, this.pos)) this.fail(`expected ${what}`);
    this.pos += text.length;
  }

  private declaration(): XmlDocument['declaration'] {
    if (!/^<\?xml[ \t\n?]/.test(this.src)) return null;
    const match = this.at(DECLARATION);
    if (!match) this.fail('malformed XML declaration');
    return { version: match[2], ...(match[4] === undefined ? {} : { encoding: match[4] }) };
  }

  /** Whitespace, comments and processing instructions around the root element (all dropped). */
  private misc(): void {
    for (;;) {
      this.at(SPACE);
      if (this.src.startsWith('<!--', this.pos)) this.comment();
      else if (this.src.startsWith('<?', this.pos)) this.processingInstruction();
      else if (this.src.startsWith('<!', this.pos)) this.declarationRefused();
      else return;
    }
  }

  private declarationRefused(): never {
    // A DTD can define entities (billion laughs, external entities) and defaults a browser would apply.
    if (/^<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i.test(this.src.slice(this.pos, this.pos + 10))) {
      this.fail('DOCTYPE and entity declarations are not allowed');
    }
    this.fail('unexpected "<!"');
  }

  private comment(): void {
    const end = this.src.indexOf('--', this.pos + 4);
    if (end < 0) this.fail('unterminated comment');
    if (this.src[end + 2] !== '>') this.fail('"--" inside a comment');
    this.pos = end + 3;
  }

  private processingInstruction(): void {
    this.pos += 2;
    const target = this.at(QNAME);
    if (!target || target[0].includes(':')) this.fail('malformed processing instruction');
    if (target[0].toLowerCase() === 'xml') this.fail('an XML declaration is only allowed at the start');
    const end = this.src.indexOf('?>', this.pos);
    if (end < 0) this.fail('unterminated processing instruction');
    // e.g. <?xml-stylesheet href="…"?>, which a browser would fetch and apply.
    this.removed.add(`<?${target[0]}?>`);
    this.pos = end + 2;
  }

  /** Decodes the references in `raw` (text or attribute value, without markup). */
  private decode(raw: string): string {
    if (!raw.includes('&')) return raw;
    let out = '';
    let from = 0;
    for (let at = raw.indexOf('&'); at >= 0; at = raw.indexOf('&', from)) {
      out += raw.slice(from, at);
      REFERENCE.lastIndex = at;
      const match = REFERENCE.exec(raw);
      if (!match) this.fail(`a "&" that starts no reference: ${quoted(raw.slice(at, at + 12))}`);
      if (match[3] !== undefined) {
        const named = PREDEFINED[match[3]];
        if (named === undefined) this.fail(`undefined entity "&${match[3]};" (there is no DTD)`);
        out += named;
      } else {
        const code = Number.parseInt(match[1] ?? match[2], match[1] !== undefined ? 16 : 10);
        if (code > 0x10ffff) this.fail(`character reference ${match[0]} is out of range`);
        const char = String.fromCodePoint(code);
        const kept = char.replace(NOT_XML, '');
        if (kept !== char) this.removed.add('characters XML cannot hold');
        out += kept;
      }
      from = REFERENCE.lastIndex;
    }
    return out + raw.slice(from);
  }

  private element(scope: ReadonlyMap<string, string | null>, depth: number): XmlElement {
    if (depth > MAX_DEPTH) this.fail(`elements nested deeper than ${MAX_DEPTH}`);
    this.pos += 1;
    const name = this.qname('element name');
    const raw = this.rawAttributes();
    const selfClosing = this.src.startsWith('/>', this.pos);
    if (selfClosing) this.pos += 2;
    else this.expect('>', `">" to close <${name.qname}>`);

    // Declarations first: they apply to the element's own name and attributes.
    const inner = new Map(scope);
    const isDeclaration = (a: RawAttribute) =>
      a.prefix === 'xmlns' || (a.prefix === null && a.local === 'xmlns');
    for (const attribute of raw.filter(isDeclaration)) {
      const { prefix, local, value } = attribute;
      if (prefix === null) {
        inner.set('', value === '' ? null : value);
        continue;
      }
      if (local === 'xmlns' || (local === 'xml') !== (value === XML_NS) || value === XMLNS_NS) {
        this.fail(`the declaration xmlns:${local} misuses a reserved namespace or prefix (xml, xmlns)`);
      }
      if (value === '') this.fail(`xmlns:${local} cannot be empty`);
      inner.set(local, value);
    }
    const resolve = (prefix: string, what: string): string => {
      const ns = inner.get(prefix);
      if (ns === undefined || ns === null) this.fail(`${what} uses the undeclared prefix "${prefix}"`);
      return ns;
    };

    const attributes: XmlAttribute[] = [];
    const seen = new Set<string>();
    for (const attribute of raw) {
      const declaration = isDeclaration(attribute);
      const ns = declaration
        ? XMLNS_NS
        : attribute.prefix === null
          ? null
          : resolve(attribute.prefix, `attribute ${attribute.qname}`);
      const local = declaration && attribute.prefix === null ? '' : attribute.local;
      const key = `${ns} ${local}`;
      if (seen.has(key)) this.fail(`<${name.qname}> has the attribute ${attribute.qname} twice`);
      seen.add(key);
      attributes.push({ ns, local, value: attribute.value });
    }
    const ns = name.prefix === null ? (inner.get('') ?? null) : resolve(name.prefix, `<${name.qname}>`);
    const children = selfClosing ? [] : this.content(inner, depth, name.qname);
    return { kind: 'element', ns, local: name.local, name: name.qname, attributes, children };
  }

  private qname(what: string): { qname: string; prefix: string | null; local: string } {
    const match = this.at(QNAME);
    if (!match) this.fail(`malformed ${what}`);
    return match[2] === undefined
      ? { qname: match[0], prefix: null, local: match[1] }
      : { qname: match[0], prefix: match[1], local: match[2] };
  }

  /** Attributes up to '>' or '/>', values decoded and normalised. */
  private rawAttributes(): RawAttribute[] {
    const attributes: RawAttribute[] = [];
    for (;;) {
      const space = this.at(SPACE);
      if (this.src.startsWith('>', this.pos) || this.src.startsWith('/>', this.pos)) return attributes;
      if (!space) this.fail('attributes must be separated by white space');
      const name = this.qname('attribute name');
      this.at(SPACE);
      this.expect('=', `"=" after the attribute ${name.qname}`);
      this.at(SPACE);
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") this.fail(`the value of ${name.qname} must be quoted`);
      const end = this.src.indexOf(quote, this.pos + 1);
      if (end < 0) this.fail(`unterminated value of ${name.qname}`);
      const raw = this.src.slice(this.pos + 1, end);
      if (raw.includes('<')) this.fail(`"<" in the value of ${name.qname}`);
      this.pos = end + 1;
      // Attribute-value normalisation (spec 3.3.3): literal white space becomes a space.
      attributes.push({ ...name, value: this.decode(raw.replace(/[\t\n]/g, ' ')) });
    }
  }

  private content(scope: ReadonlyMap<string, string | null>, depth: number, parent: string): XmlNode[] {
    const children: XmlNode[] = [];
    const text = (value: string): void => {
      const last = children[children.length - 1];
      if (last?.kind === 'text') children[children.length - 1] = { kind: 'text', text: last.text + value };
      else if (value !== '') children.push({ kind: 'text', text: value });
    };
    for (;;) {
      const next = this.src.indexOf('<', this.pos);
      if (next < 0) this.fail(`<${parent}> is not closed`);
      const raw = this.src.slice(this.pos, next);
      if (raw.includes(']]>')) this.fail('"]]>" in text');
      text(this.decode(raw));
      this.pos = next;
      if (this.src.startsWith('</', this.pos)) {
        this.pos += 2;
        const name = this.at(QNAME);
        if (!name || name[0] !== parent) this.fail(`</${name?.[0] ?? ''}> does not close <${parent}>`);
        this.at(SPACE);
        this.expect('>', `">" to close </${parent}>`);
        return children;
      }
      if (this.src.startsWith('<!--', this.pos)) this.comment();
      else if (this.src.startsWith('<![CDATA[', this.pos)) {
        const end = this.src.indexOf(']]>', this.pos + 9);
        if (end < 0) this.fail('unterminated CDATA section');
        text(this.src.slice(this.pos + 9, end));
        this.pos = end + 3;
      } else if (this.src.startsWith('<?', this.pos)) this.processingInstruction();
      else if (this.src.startsWith('<!', this.pos)) this.declarationRefused();
      else children.push(this.element(scope, depth + 1));
    }
  }
}
