// A stand-in for the marker module's agent: reads the question on stdin and answers it, reporting progress on the
// way. Asked to review a validation report of its output (the pdf-to-arangodb workflow's review step), it says
// what it would change for each kind of problem found; asked anything else, it describes what it extracts.
const question = await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => (text += chunk));
  process.stdin.on('end', () => resolve(text.trim()));
});
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const control = (value) => process.stdout.write(`@@claude-comms ${JSON.stringify(value)}\n`);

/** What marker would change in its output for each rule a validation report names. */
const CHANGES = {
  'required-metadata': 'fill the missing metadata from the PDF info dictionary, or the first heading for a title',
  'heading-level': 'merge headings deeper than the levels wanted into their parent section',
  'parent-exists': 'rebuild section_hierarchy from the headers it actually emitted',
  'page-in-range': 'number pages from 0 as the document has them',
  'unique-id': 'number the blocks of one type on a page 0, 1, 2…',
  'key-pattern': 'keep ids within the characters ArangoDB keys allow',
  'required-content': 'emit the kind of block asked for when the PDF has it',
  'cell-in-table': 'recompute row and column spans from the table grid',
  'required-bbox': 'keep a bounding box on every block',
};

let answer;
if (/validation report/i.test(question)) {
  const rules = [...question.matchAll(/"rule":\s*"([^"]+)"/g)].map((m) => m[1]);
  const counts = new Map();
  for (const rule of rules) counts.set(rule, (counts.get(rule) ?? 0) + 1);
  answer = counts.size
    ? [
        `I reviewed the validation report: ${rules.length} problem${rules.length === 1 ? '' : 's'} in my output.\n\n`,
        ...[...counts].map(
          ([rule, n]) => `- ${rule} (${n}): I would ${CHANGES[rule] ?? 'look at these blocks again'}.\n`,
        ),
      ]
    : ['I reviewed the validation report: my output meets every requirement. I would change nothing.\n'];
} else {
  answer = [
    `You asked: "${question.slice(0, 200)}"\n\n`,
    'marker extracts, for every PDF:\n\n',
    '- the document title and page count;\n',
    '- a tree of sections with their heading level and page range;\n',
    '- text, table and figure blocks, each with its page and bounding box;\n',
    '- tables as header and row cells.\n\n',
    'Ask arangodb which of these it needs, and in what shape.\n',
  ];
}
for (const [i, part] of answer.entries()) {
  process.stdout.write(part);
  control({ progress: Math.round(((i + 1) / answer.length) * 100) });
  await pause(60);
}
