// Reads [{"source": <document>, "destination": <document>}, ...] as JSON on stdin and writes, for each pair,
// openapi-diff's breaking differences as JSON on stdout: one node process for a whole batch (it starts slowly).
"use strict";
const openapiDiff = require("openapi-diff");

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const pairs = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const spec = (document, location) => ({
    content: JSON.stringify(document), location, format: document.swagger ? "swagger2" : "openapi3",
  });
  const results = [];
  for (const pair of pairs) {
    const result = await openapiDiff.diffSpecs({
      sourceSpec: spec(pair.source, "released.json"), destinationSpec: spec(pair.destination, "current.json"),
    });
    results.push((result.breakingDifferences || []).map((difference) => {
      const details = difference.sourceSpecEntityDetails.length ? difference.sourceSpecEntityDetails
        : difference.destinationSpecEntityDetails;
      return `${difference.code} at ${details.length ? details[0].location : "?"}`;
    }));
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error));
  process.exit(2);
});
