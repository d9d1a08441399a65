// validate.mjs checks OpenAPI documents with @apidevtools/swagger-parser:
// it resolves every $ref and validates against the OpenAPI 3.x schema.
// usage: node validate.mjs <file>...   exits 1 on the first invalid one.
import SwaggerParser from '@apidevtools/swagger-parser';

let failed = false;
for (const file of process.argv.slice(2)) {
  try {
    const api = await SwaggerParser.validate(file);
    console.log(`${file}: OK (OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths)`);
  } catch (err) {
    console.log(`${file}: ${err.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
