/**
 * Declarations of the public surface, printed from the source with the TypeScript compiler, so the
 * signatures shown in docs/api.md are checked against the code rather than copied by hand.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { ENTRY_POINTS, ROOT } from './docs.js';

let program: ts.Program | undefined;
function checker(): { program: ts.Program; checker: ts.TypeChecker } {
  const files = Object.values(ENTRY_POINTS).map((file) => join(ROOT, file));
  program ??= ts.createProgram(files, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, types: ['node'] });
  return { program, checker: program.getTypeChecker() };
}

function entryFile(file: string): ts.SourceFile {
  const source = checker().program.getSourceFile(join(ROOT, file));
  if (source === undefined) throw new Error(`${file} not found`);
  return source;
}

export interface PublicExport {
  name: string;
  /** Exported with `export type` (or an interface/type alias): no runtime value. */
  typeOnly: boolean;
  /** For a namespace (`export type * as CacheTypes from …`): the names it holds, in source order. */
  members?: string[];
}

/** Every name an entry point's file (`src/index.ts`, `src/http.ts`, …) exports, in source order. */
export function publicExports(file = 'src/index.ts'): PublicExport[] {
  const { checker: tc } = checker();
  const result: PublicExport[] = [];
  for (const statement of entryFile(file).statements) {
    if (!ts.isExportDeclaration(statement) || statement.exportClause === undefined) continue;
    if (ts.isNamespaceExport(statement.exportClause)) {
      const target = statement.moduleSpecifier === undefined ? undefined : tc.getSymbolAtLocation(statement.moduleSpecifier);
      const members = target === undefined ? [] : tc.getExportsOfModule(target).map((s) => s.name);
      result.push({ name: statement.exportClause.name.text, typeOnly: statement.isTypeOnly, members });
      continue;
    }
    for (const element of statement.exportClause.elements) {
      result.push({ name: element.name.text, typeOnly: statement.isTypeOnly || element.isTypeOnly });
    }
  }
  return result;
}

/** The symbol `name` (or `Namespace.name`) among the exports of all entry points; names are unique across them. */
function symbolOf(ref: string): ts.Symbol {
  const { checker: tc } = checker();
  const [first = '', second] = ref.split('.');
  const found: ts.Symbol[] = [];
  for (const file of Object.values(ENTRY_POINTS)) {
    const moduleSymbol = tc.getSymbolAtLocation(entryFile(file));
    const symbol = moduleSymbol === undefined ? undefined : tc.getExportsOfModule(moduleSymbol).find((s) => s.name === first);
    if (symbol !== undefined) found.push(symbol);
  }
  if (found.length !== 1) throw new Error(found.length === 0 ? `no entry point exports "${first}"` : `"${first}" is exported by ${found.length} entry points`);
  let symbol = found[0] as ts.Symbol;
  if (second !== undefined) {
    const namespace = symbol.flags & ts.SymbolFlags.Alias ? tc.getAliasedSymbol(symbol) : symbol;
    const member = tc.getExportsOfModule(namespace).find((s) => s.name === second);
    if (member === undefined) throw new Error(`namespace "${first}" has no "${second}"`);
    symbol = member;
  }
  return symbol;
}

function declarationOf(ref: string): ts.Declaration {
  const { checker: tc } = checker();
  const symbol = symbolOf(ref);
  const target = symbol.flags & ts.SymbolFlags.Alias ? tc.getAliasedSymbol(symbol) : symbol;
  const declaration = target.declarations?.[0];
  if (declaration === undefined) throw new Error(`no declaration for "${ref}"`);
  return declaration;
}

/** Public members of an exported class (no `#private`, no `private`/`protected`), by name, in source order. */
export function classMembers(name: string): string[] {
  const declaration = declarationOf(name);
  if (!ts.isClassDeclaration(declaration)) throw new Error(`"${name}" is not a class`);
  const names: string[] = [];
  for (const member of declaration.members) {
    if (member.name === undefined || ts.isPrivateIdentifier(member.name)) continue;
    const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
    if (modifiers.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
    const text = member.name.getText();
    if (!names.includes(text)) names.push(text);
  }
  return names;
}

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });
const DROP = new Set([ts.SyntaxKind.ExportKeyword, ts.SyntaxKind.DeclareKeyword, ts.SyntaxKind.AsyncKeyword, ts.SyntaxKind.DefaultKeyword]);

function keptModifiers(node: ts.Node): ts.ModifierLike[] | undefined {
  const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return modifiers?.filter((m) => !DROP.has(m.kind));
}

function returnTypeNode(node: ts.SignatureDeclaration): ts.TypeNode | undefined {
  if (node.type !== undefined) return node.type;
  const { checker: tc } = checker();
  const signature = tc.getSignatureFromDeclaration(node);
  if (signature === undefined) return undefined;
  return tc.typeToTypeNode(tc.getReturnTypeOfSignature(signature), undefined, ts.NodeBuilderFlags.NoTruncation);
}

/** The declaration without bodies, comments, `export` or `async`. */
function strip(node: ts.Node): ts.Node {
  const f = ts.factory;
  if (ts.isFunctionDeclaration(node)) return f.updateFunctionDeclaration(node, keptModifiers(node), undefined, node.name, node.typeParameters, node.parameters, returnTypeNode(node), undefined);
  if (ts.isMethodDeclaration(node)) return f.updateMethodDeclaration(node, keptModifiers(node), undefined, node.name, undefined, node.typeParameters, node.parameters, returnTypeNode(node), undefined);
  if (ts.isConstructorDeclaration(node)) return f.updateConstructorDeclaration(node, keptModifiers(node), node.parameters, undefined);
  if (ts.isGetAccessorDeclaration(node)) return f.updateGetAccessorDeclaration(node, keptModifiers(node), node.name, node.parameters, returnTypeNode(node), undefined);
  if (ts.isPropertyDeclaration(node)) return f.updatePropertyDeclaration(node, keptModifiers(node), node.name, node.questionToken, node.type, undefined);
  if (ts.isInterfaceDeclaration(node)) return f.updateInterfaceDeclaration(node, keptModifiers(node), node.name, node.typeParameters, node.heritageClauses, node.members);
  if (ts.isTypeAliasDeclaration(node)) return f.updateTypeAliasDeclaration(node, keptModifiers(node), node.name, node.typeParameters, node.type);
  if (ts.isClassDeclaration(node)) return f.updateClassDeclaration(node, keptModifiers(node), node.name, node.typeParameters, node.heritageClauses, []);
  if (ts.isVariableDeclaration(node)) {
    const { checker: tc } = checker();
    const type = node.type ?? tc.typeToTypeNode(tc.getTypeAtLocation(node), undefined, ts.NodeBuilderFlags.NoTruncation);
    return f.createVariableStatement(undefined, f.createVariableDeclarationList([f.createVariableDeclaration(node.name, undefined, type, undefined)], ts.NodeFlags.Const));
  }
  return node;
}

function print(node: ts.Node): string {
  const sourceFile = node.getSourceFile();
  const text = printer.printNode(ts.EmitHint.Unspecified, strip(node), sourceFile).trim();
  return text
    .replace(/\[\s*([^[\]]*?)\s*\]/g, (_m, inner: string) => `[${inner.replace(/\s+/g, ' ')}]`) // tuples on one line
    .replace(/^((?: {4})+)/gm, (indent: string) => ' '.repeat(indent.length / 2)); // two-space indents
}

/**
 * The printed declaration of `ref`: `createCache`, `CacheOptions`, `Cache` (the class line only),
 * `Cache#get` (a member; several lines for overloads), `CacheTypes.FetchOptions` (in a namespace).
 */
export function signatureOf(ref: string): string {
  const [name = '', member] = ref.split('#');
  const declaration = declarationOf(name);
  if (member === undefined) {
    if (ts.isClassDeclaration(declaration)) return print(declaration).replace(/\s*\{\s*\}$/, '');
    return print(declaration);
  }
  if (!ts.isClassDeclaration(declaration)) throw new Error(`"${name}" is not a class; cannot look up "${member}"`);
  // `Cache#get` is one member; `Cache#store,keyPrefix` prints several, one after the other.
  return member
    .split(',')
    .map((one) => {
      const members = declaration.members.filter((m) => m.name !== undefined && !ts.isPrivateIdentifier(m.name) && m.name.getText() === one);
      if (one === 'constructor') members.push(...declaration.members.filter(ts.isConstructorDeclaration));
      if (members.length === 0) throw new Error(`class "${name}" has no member "${one}"`);
      const overloads = members.filter((m) => !(ts.isMethodDeclaration(m) || ts.isConstructorDeclaration(m)) || m.body === undefined);
      const shown = overloads.length > 0 ? overloads : members;
      return shown.map((m) => print(m)).join('\n');
    })
    .join('\n');
}
