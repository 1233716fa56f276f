// tests/text/make_golden.mjs — writes tests/text/golden_neox.json: what the real HF tokenizers
// library (its Node binding, @anush008/tokenizers) makes of a broad corpus with the GPT-NeoX-20B
// tokenizer.json. A one-off: the C test (test_tokenizer_golden.c) reads the fixture and needs no Node.
//
// It also writes tests/text/golden_flags.json (a small synthetic tokenizer, see below).
//
// Run it from the repository root (Node >= 18):
//   npm install --prefix /tmp/hf-tok @anush008/tokenizers
//   node tests/text/make_golden.mjs /tmp/hf-tok [../shared/data]
//
// Each case holds the text (or, when it has a NUL, which cJSON strings cannot carry, its UTF-8 as
// hex in "text_hex"), HF's ids and HF's decode of those ids. The whole files (wikitext2 test,
// tinyshakespeare) are too large to store as ids: for them the fixture keeps the id count and a
// 64-bit FNV-1a hash of the ids (each as 4 little-endian bytes), which the C test recomputes.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const depDir = process.argv[2] || '/tmp/hf-tok';
const dataDir = process.argv[3] || '../shared/data';
const require = createRequire(resolve(depDir) + '/package.json');
const { Tokenizer } = require('@anush008/tokenizers');
const tokPath = `${dataDir}/text/gpt-neox-20b/tokenizer.json`;
const tok = Tokenizer.fromFile(tokPath);

// ---- hand-written cases ----------------------------------------------------------------------
const cases = [
  '', 'a', ' ', '  ', '   ', ' '.repeat(24), ' '.repeat(25), ' '.repeat(50), ' '.repeat(100),
  'Hello world', 'Hello  world', 'Hello   world', ' Hello', '  Hello', '   Hello', 'Hello ', 'Hello  ',
  '\n', '\n\n', '\n\n\n', 'a\nb', 'a\n\nb', 'a \nb', 'a\n b', 'a \n b', 'a  \n  b', '\t', '\t\tx', 'x\t\t',
  'a\tb', ' \t \n', '\r\n', 'line one\r\nline two\r\n', 'trailing spaces   ', 'trailing\n\n', 'tabs\t\t\t',
  'mixed \t\n \t\n  x', '    indented code\n        more\n', 'def f(x):\n    return x  # comment\n',
  '0', '1', '12', '123', '1234', '12345', '3.14159', '1,000,000', 'x2', '2x', 'v1.2.3', '٣٤٥', '²³', 'Ⅻ',
  "don't", "it's", "I'm", "you're", "we've", "he'll", "she'd", "I'LL", "IT'S", "DON'T", "'s", "'t", "'",
  "''", "rock 'n' roll", "the dogs' bones", "o'clock", "'hello'", '"quoted"', '«guillemets»',
  '!!!', '...', '?!?!', '---', '***', '(a)', '[b]', '{c}', '<d>', 'a.b.c', 'a,b;c:d', '@-@', ' @,@ ',
  'hello!!! world???', 'e-mail: x@y.z', 'https://example.com/path?q=1&r=2#frag', '#hashtag @mention',
  '$100 €200 £300 ¥400', '100%', 'C++ && C# || F#', '→ ← ↑ ↓', '°C', '½ ¼', '~`^|\\',
  '<|endoftext|>', 'a<|endoftext|>b', 'text<|endoftext|>', '<|endoftext|>text', ' <|endoftext|> ',
  '<|endoftext|><|endoftext|>', '<|endoftext|>\n\n<|endoftext|>', '<|endoftext', '|endoftext|>',
  '<|padding|>', '<|im_start|>user\nhi<|im_end|>', 'assistant', 'the assistant said', 'assistants',
  'RWKV', 'RWKV-4', 'rwkv', '<|endoftext|>  two spaces', '  <|endoftext|>',
  '中文', '你好，世界！', '日本語のテキストです。', 'カタカナ ひらがな 漢字', '한국어 텍스트', '中 文',
  '😀', '😀😀', 'a😀b', ' 😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇺🇸🇫🇷', '🇺🇸 🇫🇷', '❤️', '✌🏿', '🧑🏻‍💻 coding',
  'é', 'e\u0301', 'café', 'cafe\u0301', 'Å', 'A\u030a', '\u212b', 'ñ', 'n\u0303', 'ệ', 'e\u0323\u0302',
  'e\u0302\u0323', 'ﬁ', 'Ǆ', '\u1100\u1161\u11a8', '한', 'a\u0301\u0301', '\u0301', ' \u0301', 'x \u0301y',
  'Crème brûlée', 'naïve façade', 'Zürich', 'Ångström', 'Ελληνικά', 'Русский текст', 'Ωmega',
  'مرحبا بالعالم', 'العربية: ١٢٣', 'नमस्ते दुनिया', 'हिन्दी', 'สวัสดีชาวโลก', 'ภาษาไทย',
  'עברית', 'ქართული', 'Հայերեն', 'አማርኛ', 'தமிழ்', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𝟙𝟚𝟛', '\u{10FFFF}', '\u{E000}',
  'a\u00a0b', 'a\u2003b', 'a\u3000b', 'a\u2028b', 'a\u2029b', 'a\u200bb', 'a\u200db', 'a\u0085b',
  '!\u0085', 'x\u0085\u0085!', 'a \u0085b', 'x\u0085\u0085 y', '\u0085 a', ' \u0085', 'a \u0085 b', 'a  \u0085b', 'a\u000bb', 'a\u000cb', 'a\u001cb', 'a\u180eb', '\u00a0\u00a0x', 'x\u00a0',
  '\u00ad', 'soft\u00adhyphen', '\u007f', '\u0001\u0002\u0003', 'tab\u0009end', '\ufeffBOM', '\ufffd',
  'a\u0000b', '\u0000',
  'Supercalifragilisticexpialidocious', 'pneumonoultramicroscopicsilicovolcanoconiosis',
  'a'.repeat(300), 'ab'.repeat(200), '1'.repeat(100), '!'.repeat(100), '中'.repeat(100), '😀'.repeat(50),
  'antidisestablishmentarianism '.repeat(5), 'The quick brown fox jumps over the lazy dog.',
  'THE QUICK BROWN FOX', 'camelCaseIdentifier snake_case_id kebab-case-id', 'ALLCAPS123lower',
  '<html><body class="x">Hi</body></html>', '{"key": [1, 2, 3], "nested": {"a": null}}',
  'x = y + 2 * (z - 1) / 3;', 'for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}\n',
  '   \n   \n   ', ' \n', '\n ', ' \n ', '\n\n\n\n\n\n\n\n', '\n  \n  \n', '\t\n\t\n',
  // NFC around ASCII boundaries (krait normalises only the stretches between ASCII characters)
  'ab e\u0301 c\u0327a\u0300 x', '\u00e9\u0301', 'A\u030a\u0301b', 'e\u0301\u0301 \u0301', '\u4e2de\u0301\u4e2d',
  '\u0915\u094d\u0937\u093f x', 'x\u1100\u1161 \u1100\u1161\u11a8y', '\u0958 x \u0958', 'o\u0308\u0304.', 'a\u0323\u0302b',
  'q\u0307\u0323 .\u0301', '\u1e9b\u0323', '\u00c5\u0328 \u212b\u0328', 'e\u0301'.repeat(40), 'x\u0300'.repeat(5) + 'abc',
];

// ---- random mixtures of the tricky pieces (deterministic) -------------------------------------
const pieces = [' ', '  ', '   ', '\t', '\n', '\r\n', 'a', 'Z', 'the', "'s", "'ll", "'", '1', '42', '!', '.',
  '...', 'é', 'e\u0301', '\u0301', '中', '語', '😀', '👍🏽', '‍', '\u00a0', '\u0085', '\u3000', '<|endoftext|>',
  'assistant', '<|', '|>', 'ß', 'ﬁ', 'ก', 'ि', 'ع', '_', '-', '@', '"', '(', '٣', '²'];
let seed = 12345;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
for (let i = 0; i < 400; i++) {
  let s = '';
  const k = 1 + rnd(20);
  for (let j = 0; j < k; j++) s += pieces[rnd(pieces.length)];
  cases.push(s);
}

// ---- lines and chunks of the shared corpora ---------------------------------------------------
const wiki = readFileSync(`${dataDir}/text/wikitext2/test.txt`, 'utf8');
const shak = readFileSync(`${dataDir}/text/tinyshakespeare/input.txt`, 'utf8');
const wikiLines = wiki.split('\n').filter((l) => l.trim().length > 0);
for (let i = 0; i < 200; i++) cases.push(wikiLines[Math.floor((i * wikiLines.length) / 200)] + '\n');
const shakLines = shak.split('\n');
for (let i = 0; i < 150; i++) {
  const at = Math.floor((i * (shakLines.length - 4)) / 150);
  cases.push(shakLines.slice(at, at + 3).join('\n'));
}
for (let i = 0; i < 8; i++) cases.push(wiki.slice(i * 150000, i * 150000 + 3000));

// ---- encode with HF ---------------------------------------------------------------------------
const hasNul = (s) => s.includes('\u0000');
const out = { tokenizer: 'gpt-neox-20b tokenizer.json', library: '@anush008/tokenizers (HF tokenizers)',
  cases: [], files: [] };
for (const text of cases) {
  const ids = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
  const decoded = await tok.decode(ids, false);
  const c = hasNul(text) ? { text_hex: Buffer.from(text, 'utf8').toString('hex') } : { text };
  c.ids = ids;
  if (hasNul(decoded)) c.decoded_hex = Buffer.from(decoded, 'utf8').toString('hex');
  else c.decoded = decoded;
  out.cases.push(c);
}

function fnv(ids) {
  let h = 0xcbf29ce484222325n;
  const p = 0x100000001b3n, m = (1n << 64n) - 1n;
  for (const id of ids)
    for (let k = 0; k < 4; k++) { h ^= BigInt((id >>> (8 * k)) & 0xff); h = (h * p) & m; }
  return h.toString(16).padStart(16, '0');
}
for (const rel of ['text/wikitext2/test.txt', 'text/tinyshakespeare/input.txt']) {
  const text = readFileSync(`${dataDir}/${rel}`, 'utf8');
  const ids = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
  out.files.push({ path: rel, n_ids: ids.length, fnv1a64: fnv(ids), first: ids.slice(0, 20) });
}

// ---- a small synthetic tokenizer for the flags GPT-NeoX does not use ---------------------------
// add_prefix_space, lstrip / rstrip / single_word added tokens (and a raw "  " that can start
// inside the spaces an rstrip takes), a normalized added token that NFC
// produces, a raw one that only matches unnormalised text. Written to tests/text/golden_flags.json
// with the tokenizer itself inside, so its test needs no shared data.
function byteChars() {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  const m = new Array(256);
  bs.forEach((b, i) => { m[b] = String.fromCodePoint(cs[i]); });
  return m;
}
const bc = byteChars();
const vocab = {};
bc.forEach((c, b) => { vocab[c] = b; });
const mergeList = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n'], ['in', 'g'], ['Ġ', 'a'], ['l', 'l'],
  ['Ġa', 'll'], ['e', 'r'], ['Ġ', 'w'], ['o', 'r'], ['Ġw', 'or'], ['Ġwor', 'd'], ['t', 'h'], ['th', 'in'],
  ['thin', 'g'], ['Ġ', 'Ġ'], ['ĠĠ', 'ĠĠ'], ['Ã', '©'], ['a', 'b'], ['Ċ', 'Ċ'], ['a', 'a'], ['aa', 'aa']];
let next = 256;
for (const [a, b] of mergeList) if (!(a + b in vocab)) vocab[a + b] = next++;
const addedTok = (id, content, o) => ({ id, content, single_word: !!o.single_word, lstrip: !!o.lstrip,
  rstrip: !!o.rstrip, normalized: !!o.normalized, special: !!o.special });
const small = {
  version: '1.0', truncation: null, padding: null,
  added_tokens: [
    addedTok(0, '<mask>', { special: true, lstrip: true }),
    addedTok(0, '[R]', { special: true, rstrip: true }),
    addedTok(0, 'word', { single_word: true, normalized: true }),
    addedTok(0, 'n\u00e9', { normalized: true }),
    addedTok(0, '\u00c5x', { special: true }),
    addedTok(0, 'xy', { single_word: true, lstrip: true, rstrip: true }),
    addedTok(0, '  ', { special: true }),
  ],
  normalizer: { type: 'NFC' },
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, vocab, merges: mergeList.map(([a, b]) => `${a} ${b}`) },
};
// The ids HF gives added tokens (after the vocab, in order) are written back, so the file is as
// consistent as one HF saves; a second load must agree.
small.added_tokens.forEach((t) => { t.id = Tokenizer.fromString(JSON.stringify(small)).tokenToId(t.content); });
const stok = Tokenizer.fromString(JSON.stringify(small));
for (const t of small.added_tokens)
  if (stok.tokenToId(t.content) !== t.id) throw new Error(`added token ${t.content}: unstable id`);
const smallCases = ['', 'the thing', 'a <mask> b', 'a   <mask>', '<mask>', ' <mask> ', '<mask><mask>', 'x [R]   y',
  '[R]\n\n z', 'word', 'word words sword word.', ' word ', '_word', 'word_', 'wordword', 'ne\u0301 n\u00e9', 'cafe\u0301s',
  'A\u030ax \u00c5x', '\u00c5\u00c5x', 'e\u0301', 'xy', ' xy ', 'axy xy', '  xy  b', 'xy\txy', 'hello world', '\tword\t', 'aaaaaaaa', 'aaaaaaa',
  'ab ab ab', '   the   ', 'the\n\nthe', 'all wall', 'Ã©', "it's", 'thin things', '[R]  x', '[R]   x', '[R]    x',
  'a [R]  x', '[R]  ', 'x  <mask>', '<mask>  x', '  xy  ', '[R]\t  x'];
const spieces = [' ', '  ', '\t', '\n', 'the', 'a', 'ab', 'word', 'xy', '<mask>', '[R]', 'e\u0301', '\u00e9', 'A\u030a',
  '\u00c5', 'n', 'x', '_', '.', 'th', 'ing', '中'];
for (let i = 0; i < 150; i++) {
  let s = '';
  const k = 1 + rnd(10);
  for (let j = 0; j < k; j++) s += spieces[rnd(spieces.length)];
  smallCases.push(s);
}
const smallOut = [];
for (const text of smallCases) {
  const ids = (await stok.encode(text, null, { addSpecialTokens: true })).getIds();
  smallOut.push({ text, ids, decoded: await stok.decode(ids, false) });
}
const smallJson = `{"tokenizer_json": ${JSON.stringify(small)},\n "cases": [\n` +
  smallOut.map((c) => '  ' + JSON.stringify(c)).join(',\n') + '\n]}\n';
writeFileSync('tests/text/golden_flags.json', smallJson);
console.log(`tests/text/golden_flags.json: ${smallOut.length} cases, ${smallJson.length} bytes`);

// One case per line keeps the file diffable.
const lines = out.cases.map((c) => '  ' + JSON.stringify(c));
const json = `{"tokenizer": ${JSON.stringify(out.tokenizer)},\n "library": ${JSON.stringify(out.library)},\n` +
  ` "files": ${JSON.stringify(out.files)},\n "cases": [\n${lines.join(',\n')}\n]}\n`;
writeFileSync('tests/text/golden_neox.json', json);
console.log(`tests/text/golden_neox.json: ${out.cases.length} cases, ${json.length} bytes`);
