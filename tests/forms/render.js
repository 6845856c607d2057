// Renders OpenAPI component schemas as py-ispyb-ui renders them: @rjsf/bootstrap-4's Form with the ajv6 validator
// (the versions of the UI's package-lock.json, see package.json), server-side, once per form.
// stdin: {"spec": <openapi.json>, "forms": [{"name", "schema", "uiSchema", "formData", "inline"}]}
// stdout: one JSON line per form {"name", "ok", "problem"}; exit status 1 if a form failed: an exception, a React
// error, an "Option 1/2" selector, or live validation refusing the form's data (the answer the page shows).
"use strict";
const React = require("react");
const { renderToString } = require("react-dom/server");
const Form = require("@rjsf/bootstrap-4").default;
const validator = require("@rjsf/validator-ajv6").default;

const h = React.createElement;

// The UI's remote select (a list of lab contacts fetched by the browser): a plain select here.
function RemoteSelect(props) {
  return h("select", { id: props.id, value: props.value ?? "", onChange: () => {} });
}

// The view pages' field (InlineEditable → EditableStringField): the value as text, as the UI shows it unedited.
function StaticStringField(props) {
  return h("span", { className: "value", id: props.idSchema && props.idSchema.$id }, String(props.formData ?? ""));
}

function render(spec, form) {
  // useSchema(name, title): a $ref into the spec's components, as the UI builds it
  const schema = { $ref: `#/components/schemas/${form.schema}`, components: spec.components, title: form.name };
  // InlineEditable turns the top level's nulls into undefined before rendering
  let formData = form.formData || {};
  if (form.inline) {
    formData = Object.fromEntries(Object.entries(formData).map(([k, v]) => [k, v === null ? undefined : v]));
  }
  const props = {
    schema,
    uiSchema: form.uiSchema || {},
    formData,
    validator,
    widgets: { remoteSelect: RemoteSelect },
    liveValidate: true,
  };
  if (form.inline) Object.assign(props, { fields: { StringField: StaticStringField }, omitExtraData: true });
  const errors = [];
  const original = console.error;
  console.error = (...args) => errors.push(args.map(String).join(" "));
  try {
    const html = renderToString(h(Form, props));
    if (/Option \d/.test(html)) return { ok: false, problem: "an anyOf/oneOf selector (\"Option 1/2\")" };
    if (!/<form/.test(html)) return { ok: false, problem: "no form rendered" };
    const invalid = html.match(/should [^<]*/g);
    if (invalid) return { ok: false, problem: `the data fails its own schema: ${[...new Set(invalid)].join("; ")}` };
    // React's development warnings (the theme was written for react-bootstrap 1, the UI runs 2) are not failures:
    // a production build drops them, and the page renders the same
    const react = errors.filter((e) => !/^Warning: /.test(e));
    if (react.length) return { ok: false, problem: react.join("\n").slice(0, 2000) };
    return { ok: true, problem: null };
  } catch (err) {
    return { ok: false, problem: String((err && err.stack) || err).slice(0, 2000) };
  } finally {
    console.error = original;
  }
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { spec, forms } = JSON.parse(input);
  let failed = false;
  for (const form of forms) {
    const result = { name: form.name, ...render(spec, form) };
    failed = failed || !result.ok;
    process.stdout.write(JSON.stringify(result) + "\n");
  }
  process.exit(failed ? 1 : 0);
});
