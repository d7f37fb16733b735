/**
 * An analysis's settings schema as form fields and flags: read off the schema's JSON Schema (zod's own
 * conversion, defaults and ranges included) and its `.meta()`, so the CLI and the app restate nothing.
 */
import { z } from 'zod';

import type { ConfigField } from '../../common/api/types.ts';

interface JsonSchemaProperty {
  readonly type?: string;
  readonly anyOf?: readonly JsonSchemaProperty[];
  readonly enum?: readonly unknown[];
  readonly items?: JsonSchemaProperty;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly default?: unknown;
  readonly description?: string;
  readonly label?: string;
  readonly flag?: string;
  readonly whenOmitted?: string;
  readonly onlyWhen?: ConfigField['onlyWhen'];
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Whole-number bounds zod writes for "no bound" (±MAX_SAFE_INTEGER) are no bound. */
const bound = (value: number | undefined) =>
  value === undefined || Math.abs(value) >= Number.MAX_SAFE_INTEGER ? undefined : value;

function fieldType(property: JsonSchemaProperty, name: string): Pick<ConfigField, 'type' | 'choices'> {
  if (property.enum) return { type: 'choice', choices: property.enum.map(String) };
  switch (property.type) {
    case 'number':
    case 'integer':
    case 'boolean':
    case 'string':
      return { type: property.type };
    case 'array':
      if (property.items?.enum) return { type: 'choices', choices: property.items.enum.map(String) };
      if (property.items?.type === 'integer') return { type: 'integers' };
  }
  throw new Error(`setting "${name}": a ${property.type ?? 'complex'} setting has no form field or flag`);
}

/**
 * A nullable setting (`anyOf: [T, null]`) as its non-null type: null is a value the engine writes when
 * it resolves the setting (e.g. "no review layer"), not one a form or flag offers.
 */
function withoutNull(property: JsonSchemaProperty): JsonSchemaProperty {
  const options = property.anyOf?.filter((option) => option.type !== 'null');
  if (!options || options.length !== 1) return property;
  const { anyOf: _anyOf, ...outer } = property;
  return { ...options[0], ...outer };
}

export function configFields(schema: z.ZodType): ConfigField[] {
  const json = z.toJSONSchema(schema, { io: 'input' }) as {
    readonly type?: string;
    readonly properties?: Readonly<Record<string, JsonSchemaProperty>>;
  };
  if (json.type !== 'object' || !json.properties) {
    throw new Error('an analysis config must be a zod object');
  }
  return Object.entries(json.properties).map(([name, written]) => {
    const property = withoutNull(written);
    const items = property.type === 'array' ? property.items : property;
    const min = bound(items?.minimum);
    const max = bound(items?.maximum);
    return {
      name,
      flag: property.flag ?? kebab(name),
      label: property.label ?? name,
      help: property.description ?? '',
      ...fieldType(property, name),
      ...(min !== undefined ? { min } : {}),
      ...(max !== undefined ? { max } : {}),
      ...(property.default !== undefined ? { default: property.default } : {}),
      ...(property.whenOmitted !== undefined ? { whenOmitted: property.whenOmitted } : {}),
      ...(property.onlyWhen !== undefined ? { onlyWhen: property.onlyWhen } : {}),
    };
  });
}
