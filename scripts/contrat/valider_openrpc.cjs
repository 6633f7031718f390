// The served OpenRPC document checked by the OpenRPC project's own tools (npm
// @open-rpc/schema-utils-js): validated against the OpenRPC meta-schema, then parsed, which
// resolves every `$ref` and fails on one that points nowhere. Usage: node valider_openrpc.cjs
// <document.json>; exits non-zero, with the validator's words, on any problem.
'use strict';

const fs = require('fs');
const { validateOpenRPCDocument, parseOpenRPCDocument } = require('@open-rpc/schema-utils-js');

async function principal() {
  const document = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const verdict = validateOpenRPCDocument(document);
  if (verdict !== true) {
    console.error('valider_openrpc : document refusé par le méta-schéma OpenRPC');
    console.error(verdict && verdict.message ? verdict.message : JSON.stringify(verdict, null, 2));
    process.exit(1);
  }
  // Dereferences every $ref (and validates again): a dangling reference fails here.
  const lu = await parseOpenRPCDocument(JSON.parse(JSON.stringify(document)), { dereference: true });
  const noms = lu.methods.map((m) => m.name);
  console.log(
    `valider_openrpc : OpenRPC ${document.openrpc} valide, ${noms.length} méthodes, ` +
      `${Object.keys(document.components.schemas || {}).length} schémas`,
  );
}

principal().catch((e) => {
  console.error('valider_openrpc :', e && e.message ? e.message : e);
  process.exit(1);
});
