// Validates deploy/kubernetes/*.yaml against the Kubernetes API's schema, offline:
//   - kubernetes-models: each object against the JSON schema of its kind (the API's OpenAPI
//     definitions compiled by ajv): types, required fields, enums, formats;
//   - kubernetes-types with TypeScript: each object as a typed literal, so a field the API
//     does not have (a misspelt hostPid) is an error, which the JSON schemas let through.
// The files under tests/deploy/bad must each be refused, so the check cannot pass vacuously.
// Usage: node manifests.mjs NODE_DIR SOURCE_DIR (NODE_DIR: where `make deploy-deps` installed
// the packages). Exit 77 (skip) when they are not installed.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [nodeDir, srcDir] = process.argv.slice(2).map((p) => path.resolve(p));
if (!fs.existsSync(path.join(nodeDir, "node_modules", "kubernetes-models"))) {
  console.error(`kubernetes-models not installed in ${nodeDir} (make deploy-deps): skipped`);
  process.exit(77);
}
const require = createRequire(path.join(nodeDir, "node_modules", "x.js"));
const YAML = require("yaml");
const ts = require("typescript");

// "apps/v1" -> ["apps", "v1"]; "v1" -> ["", "v1"]; "scheduling.k8s.io/v1" -> ["scheduling.k8s.io", "v1"]
function split(apiVersion) {
  const i = apiVersion.lastIndexOf("/");
  return i < 0 ? ["", apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
}

async function schemaErrors(doc) {
  const [group, version] = split(doc.apiVersion ?? "");
  // The file itself: the package exports its kinds to import only, not to require.resolve.
  const file = path.join(nodeDir, "node_modules", "kubernetes-models", group, version,
                         `${doc.kind}.js`);
  if (!fs.existsSync(file)) return [`no schema for ${doc.apiVersion} ${doc.kind}`];
  const Model = (await import(pathToFileURL(file).href))[doc.kind];
  try {
    new Model(doc).validate();
    return [];
  } catch (e) {
    return [e.message];
  }
}

function typeSource(doc, n) {
  const [group, version] = split(doc.apiVersion ?? "");
  const g = group === "" ? "core" : group.replace(/\.k8s\.io$/, "");
  return `import type { ${doc.kind} } from "kubernetes-types/${g}/${version}";\n` +
         `export const o${n}: ${doc.kind} = ${JSON.stringify(doc, null, 2)};\n`;
}

// Type-checks every document at once (one program: about a second); errors by file.
function typeErrors(docs) {
  const dir = fs.mkdtempSync(path.join(nodeDir, "check-"));
  try {
    const files = docs.map((d, n) => {
      const f = path.join(dir, `doc${n}.ts`);
      fs.writeFileSync(f, typeSource(d.doc, n));
      return f;
    });
    const program = ts.createProgram(files, {
      strict: true, noEmit: true, module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Node10, types: [], skipLibCheck: true,
    });
    const out = docs.map(() => []);
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const n = d.file ? files.indexOf(d.file.fileName) : -1;
      const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
      if (n >= 0) out[n].push(text); else out.forEach((o) => o.push(text));
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function load(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))
      .map((d) => d.toJS()).filter((d) => d != null).map((doc) => ({ file, doc }));
}

const yamls = (d) => fs.readdirSync(d).filter((f) => f.endsWith(".yaml")).map((f) => path.join(d, f));
const good = yamls(path.join(srcDir, "deploy/kubernetes")).flatMap(load);
const bad = yamls(path.join(srcDir, "tests/deploy/bad")).flatMap(load);
const kinds = new Set(good.map((d) => d.doc.kind));
for (const k of ["DaemonSet", "PriorityClass", "ConfigMap"]) {
  if (!kinds.has(k)) { console.error(`no ${k} in deploy/kubernetes`); process.exit(1); }
}
const all = [...good, ...bad];
const types = typeErrors(all);
let failed = false;
for (const [i, d] of all.entries()) {
  const errors = [...(await schemaErrors(d.doc)), ...types[i]];
  const name = `${path.relative(srcDir, d.file)}: ${d.doc.kind} ${d.doc.metadata?.name}`;
  const expectBad = i >= good.length;
  if (expectBad && errors.length === 0) {
    console.error(`${name}: accepted, but it is invalid (the check is vacuous)`);
    failed = true;
  } else if (!expectBad && errors.length > 0) {
    console.error(`${name}:\n  ${errors.join("\n  ")}`);
    failed = true;
  } else {
    console.log(`${name}: ${expectBad ? "refused as it should be: " + errors[0] : "valid"}`);
  }
}
process.exit(failed ? 1 : 0);
