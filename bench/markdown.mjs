// The bench's tables, printed as Markdown so that a run can be pasted as it is.

/** A table with its columns padded; the columns whose index is in `left` are left-aligned, the others right-aligned. */
export function printMarkdown(header, rows, left) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells) =>
    `| ${cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`
  const rule = widths.map((w, i) => (left.has(i) ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`))
  console.log(`\n${line(header)}\n|${rule.join('|')}|`)
  for (const row of rows) console.log(line(row))
}
