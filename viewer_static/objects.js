// Dotted paths into a JSON document ("llm.temperature"), as the API names its fields, and a deep copy.

export function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
}

// Creates the objects on the way; `undefined` removes the key.
export function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== "object") o[k] = {};
    o = o[k];
  }
  if (value === undefined) delete o[keys.at(-1)];
  else o[keys.at(-1)] = value;
}

export const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
