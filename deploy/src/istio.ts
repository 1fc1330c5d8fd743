import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

type Schema = Record<string, unknown>;

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema?: { openAPIV3Schema: Schema } }[];
  };
}

/**
 * Validators for Istio's custom resources, from the CRDs Istio itself installs, made strict the way the API
 * server is with `kubectl apply` (field validation Strict): an object schema with `properties` rejects any
 * other key unless it says x-kubernetes-preserve-unknown-fields. CEL rules (x-kubernetes-validations) are
 * not evaluated here.
 */
export class IstioSchemas {
  private readonly ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, logger: false });
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(istioApiDir: string) {
    const text = readFileSync(join(istioApiDir, 'kubernetes', 'customresourcedefinitions.gen.yaml'), 'utf8');
    for (const document of parseAllDocuments(text)) {
      const crd = document.toJS() as Crd | null;
      if (!crd?.spec?.versions) continue;
      for (const version of crd.spec.versions) {
        if (!version.served || !version.schema) continue;
        const root = strict(structuredClone(version.schema.openAPIV3Schema));
        root.properties = {
          ...(root.properties as Schema),
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: { type: 'object' },
        };
        this.validators.set(key(`${crd.spec.group}/${version.name}`, crd.spec.names.kind), this.ajv.compile(root));
      }
    }
  }

  /** The problems with one object, or a single one saying that Istio serves no such kind and version. */
  problems(object: { apiVersion: string; kind: string }): string[] {
    const validate = this.validators.get(key(object.apiVersion, object.kind));
    if (!validate) return [`Istio serves no ${object.kind} in ${object.apiVersion}`];
    if (validate(object)) return [];
    return (validate.errors ?? []).map(
      (error) => `${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}`,
    );
  }
}

const key = (apiVersion: string, kind: string) => `${apiVersion}:${kind}`;

function strict(schema: Schema): Schema {
  if (
    schema.properties &&
    !schema['x-kubernetes-preserve-unknown-fields'] &&
    schema.additionalProperties === undefined
  ) {
    schema.additionalProperties = false;
  }
  if (schema['x-kubernetes-int-or-string']) {
    delete schema.type;
    schema.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  for (const map of [schema.properties, schema.patternProperties]) {
    if (isSchema(map)) Object.values(map).forEach((child) => isSchema(child) && strict(child));
  }
  for (const keyword of ['items', 'additionalProperties', 'not']) {
    const child = schema[keyword];
    if (isSchema(child)) strict(child);
  }
  for (const keyword of ['allOf', 'anyOf', 'oneOf']) {
    const list = schema[keyword];
    if (Array.isArray(list)) list.forEach((child) => isSchema(child) && strict(child));
  }
  return schema;
}

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
