// A stand-in for the arangodb module's agent: reads the question on stdin and answers it, reporting progress on the
// way. Asked for its PDF requirements in the pdf-requirements format (the pdf-structure query template), it
// answers with requirements.json beside it — what this database layer stores of a PDF, as JSON and nothing else;
// asked anything else, it describes the same in words.
import { readFileSync } from 'node:fs';

const question = await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => (text += chunk));
  process.stdin.on('end', () => resolve(text.trim()));
});
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const control = (value) => process.stdout.write(`@@claude-comms ${JSON.stringify(value)}\n`);

// The pdf-structure template's question, or any question naming the format.
if (/pdf-requirements|structure do you need from PDF/i.test(question)) {
  control({ log: 'reading the collections and edges the graph import uses' });
  const requirements = readFileSync(new URL('./requirements.json', import.meta.url), 'utf8');
  const lines = requirements.split('\n');
  // Streamed a few lines at a time, as an agent writes.
  for (let i = 0; i < lines.length; i += 40) {
    process.stdout.write(`${lines.slice(i, i + 40).join('\n')}${i + 40 < lines.length ? '\n' : ''}`);
    control({ progress: Math.min(100, Math.round(((i + 40) / lines.length) * 100)) });
    await pause(20);
  }
  control({ criterion: 'requirements stated' });
} else {
  const answer = [
    `You asked: "${question.slice(0, 200)}"\n\n`,
    'arangodb stores each PDF as a graph. Send documents shaped like this:\n\n',
    '- documents: { _key, title, pageCount, authors, sourceFile }\n',
    '- sections: [{ _key, heading, level, page_start, page_end }], linked by has_section and parent_of edges\n',
    '- blocks: [{ _key, kind, page, bbox: [x0, y0, x1, y1], text }], linked by has_block and next edges\n\n',
    'Ask with the pdf-structure template to get this as a pdf-requirements document.\n',
  ];
  control({ log: 'reading the schema of the documents collection' });
  for (const [i, part] of answer.entries()) {
    process.stdout.write(part);
    control({ progress: Math.round(((i + 1) / answer.length) * 100) });
    await pause(120);
  }
  control({ criterion: 'structure described' });
}
