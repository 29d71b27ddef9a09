/**
 * Declarations of the public surface, printed from the source with the TypeScript compiler, so the
 * signatures shown in docs/api.md are checked against the code rather than copied by hand.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './docs.js';

const ENTRY = join(ROOT, 'src/index.ts');

let program: ts.Program | undefined;
function checker(): { program: ts.Program; checker: ts.TypeChecker; entry: ts.SourceFile } {
  program ??= ts.createProgram([ENTRY], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, types: ['node'] });
  const entry = program.getSourceFile(ENTRY);
  if (entry === undefined) throw new Error('src/index.ts not found');
  return { program, checker: program.getTypeChecker(), entry };
}

export interface PublicExport {
  name: string;
  /** Exported with `export type` (or an interface/type alias): no runtime value. */
  typeOnly: boolean;
}

/** Every name src/index.ts exports, in source order. */
export function publicExports(): PublicExport[] {
  const { entry } = checker();
  const result: PublicExport[] = [];
  for (const statement of entry.statements) {
    if (!ts.isExportDeclaration(statement) || statement.exportClause === undefined || !ts.isNamedExports(statement.exportClause)) continue;
    for (const element of statement.exportClause.elements) {
      result.push({ name: element.name.text, typeOnly: statement.isTypeOnly || element.isTypeOnly });
    }
  }
  return result;
}

function declarationOf(name: string): ts.Declaration {
  const { checker: tc, entry } = checker();
  const moduleSymbol = tc.getSymbolAtLocation(entry);
  if (moduleSymbol === undefined) throw new Error('no module symbol for src/index.ts');
  const symbol = tc.getExportsOfModule(moduleSymbol).find((s) => s.name === name);
  if (symbol === undefined) throw new Error(`src/index.ts does not export "${name}"`);
  const target = symbol.flags & ts.SymbolFlags.Alias ? tc.getAliasedSymbol(symbol) : symbol;
  const declaration = target.declarations?.[0];
  if (declaration === undefined) throw new Error(`no declaration for "${name}"`);
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
 * `Cache#get` (a member; several lines for overloads).
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
