// A stand-in for the arangodb module's agent: reads the question on stdin and streams a fixed, useful answer
// about the document structure the database layer stores, reporting progress on the way.
const question = await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => (text += chunk));
  process.stdin.on('end', () => resolve(text.trim()));
});
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const control = (value) => process.stdout.write(`@@claude-comms ${JSON.stringify(value)}\n`);

const answer = [
  `You asked: "${question.slice(0, 200)}"\n\n`,
  'arangodb stores each PDF as a graph. Send documents shaped like this:\n\n',
  '- document: { id, title, source_path, page_count }\n',
  '- sections: [{ id, title, level, page_start, page_end, parent_id }]\n',
  '- blocks: [{ id, section_id, type: "text" | "table" | "figure", page, bbox: [x0, y0, x1, y1], text }]\n',
  '- tables: [{ block_id, headers: [string], rows: [[string]] }]\n\n',
  'Sections become vertices linked by `contains` edges; blocks keep their page and bounding box so answers can\n',
  'cite where they came from.\n',
];
control({ log: 'reading the schema of the documents collection' });
for (const [i, part] of answer.entries()) {
  process.stdout.write(part);
  control({ progress: Math.round(((i + 1) / answer.length) * 100) });
  await pause(120);
}
control({ criterion: 'structure described' });
