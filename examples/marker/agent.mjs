// A stand-in for the marker module's agent: reads the question on stdin and streams a fixed answer about what
// the PDF extractor produces, reporting progress on the way.
const question = await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => (text += chunk));
  process.stdin.on('end', () => resolve(text.trim()));
});
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const control = (value) => process.stdout.write(`@@claude-comms ${JSON.stringify(value)}\n`);

const answer = [
  `You asked: "${question.slice(0, 200)}"\n\n`,
  'marker extracts, for every PDF:\n\n',
  '- the document title and page count;\n',
  '- a tree of sections with their heading level and page range;\n',
  '- text, table and figure blocks, each with its page and bounding box;\n',
  '- tables as header and row cells.\n\n',
  'Ask arangodb which of these it needs, and in what shape.\n',
];
for (const [i, part] of answer.entries()) {
  process.stdout.write(part);
  control({ progress: Math.round(((i + 1) / answer.length) * 100) });
  await pause(120);
}
