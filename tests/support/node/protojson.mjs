// Requests written as protobuf JSON (what grpcurl and the docs show) turned into the objects
// @grpc/proto-loader clients take (loaded with keepCase and enums as strings), refusing what a
// protobuf JSON parser would refuse: unknown fields, unknown enum names, wrong value types.

import assert from 'node:assert/strict';

function lowerCamel(name) {
  return name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

// JSON object -> google.protobuf.Struct object. proto-loader serves Struct from protobufjs's
// bundled well-known types, whose field names may be camelCase whatever keepCase says, so the
// names are looked up in the loaded definition.
export function structFromJson(packageDefinition, object) {
  const names = new Set(packageDefinition['google.protobuf.Value'].type.field.map((f) => f.name));
  const field = (snake) => (names.has(snake) ? snake : lowerCamel(snake));
  const toValue = (json) => {
    if (json === null) return { [field('null_value')]: 'NULL_VALUE' };
    if (typeof json === 'number') return { [field('number_value')]: json };
    if (typeof json === 'string') return { [field('string_value')]: json };
    if (typeof json === 'boolean') return { [field('bool_value')]: json };
    if (Array.isArray(json)) return { [field('list_value')]: { values: json.map(toValue) } };
    return { [field('struct_value')]: toStruct(json) };
  };
  const toStruct = (json) => ({
    fields: Object.fromEntries(Object.entries(json).map(([k, v]) => [k, toValue(v)])),
  });
  return toStruct(object);
}

// A type name as a field states it (relative, as written in the .proto) -> its full name,
// searched from the innermost scope outwards as protoc does.
function resolveType(packageDefinition, scope, name) {
  if (name.startsWith('.')) return name.slice(1);
  const parts = scope.split('.');
  for (let n = parts.length; n >= 0; n--) {
    const candidate = [...parts.slice(0, n), name].join('.');
    if (packageDefinition[candidate]) return candidate;
  }
  return name;
}

const INTEGER_TYPES = new Set([
  'TYPE_INT32',
  'TYPE_INT64',
  'TYPE_UINT32',
  'TYPE_UINT64',
  'TYPE_SINT32',
  'TYPE_SINT64',
  'TYPE_FIXED32',
  'TYPE_FIXED64',
  'TYPE_SFIXED32',
  'TYPE_SFIXED64',
]);

// `json` as a message of `typeName` (e.g. 'esgw.v1.SearchRequest'); `where` names the source
// in failure messages. Field names may be the proto names or their lowerCamel JSON names.
export function fromProtoJson(packageDefinition, typeName, json, where) {
  const isObject = json !== null && typeof json === 'object' && !Array.isArray(json);
  if (typeName === 'google.protobuf.Struct') {
    assert.ok(isObject, `${where}: a Struct must be a JSON object`);
    return structFromJson(packageDefinition, json);
  }
  if (typeName === 'google.protobuf.Duration') {
    const match = typeof json === 'string' && /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(json);
    assert.ok(match, `${where}: a Duration is a string like "1.5s", not ${JSON.stringify(json)}`);
    return { seconds: match[1], nanos: Number((match[2] ?? '').padEnd(9, '0')) };
  }
  const definition = packageDefinition[typeName];
  assert.ok(definition?.type?.field, `${where}: no message ${typeName}`);
  assert.ok(isObject, `${where}: ${typeName} must be a JSON object`);
  const out = {};
  for (const [key, value] of Object.entries(json)) {
    const field = definition.type.field.find((f) => f.name === key || lowerCamel(f.name) === key);
    assert.ok(field, `${where}: ${typeName} has no field '${key}'`);
    const at = `${where}.${key}`;
    const fieldType = field.typeName
      ? resolveType(packageDefinition, typeName, field.typeName)
      : '';
    const convert = (v) => {
      switch (field.type) {
        case 'TYPE_MESSAGE':
          return fromProtoJson(packageDefinition, fieldType, v, at);
        case 'TYPE_ENUM': {
          const names = packageDefinition[fieldType].type.value.map((e) => e.name);
          assert.ok(names.includes(v), `${at}: '${v}' is not one of ${names.join(', ')}`);
          return v;
        }
        case 'TYPE_STRING':
          assert.equal(typeof v, 'string', `${at}: not a string`);
          return v;
        case 'TYPE_BOOL':
          assert.equal(typeof v, 'boolean', `${at}: not a boolean`);
          return v;
        default:
          if (INTEGER_TYPES.has(field.type)) {
            assert.ok(/^-?\d+$/.test(String(v)), `${at}: not an integer`);
          } else {
            assert.ok(Number.isFinite(Number(v)), `${at}: not a number`);
          }
          return v;
      }
    };
    if (field.label === 'LABEL_REPEATED') {
      assert.ok(Array.isArray(value), `${at}: a repeated field takes a JSON array`);
      out[field.name] = value.map(convert);
    } else {
      out[field.name] = convert(value);
    }
  }
  return out;
}
