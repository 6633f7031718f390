// Turns the game catalog (domain/catalogue.toml, the server's own source of truth) into the
// JSON the client bundles: zones, portals, encounters, monsters, items, recipes, merchants,
// classes and their stats. Static game data, like a game client's assets: the client still
// talks to the gateway only through the protocol. Run before every build (npm run build).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';

const ici = dirname(fileURLToPath(import.meta.url));
const source = resolve(ici, '../../domain/catalogue.toml');
const cible = resolve(ici, '../src/app/donnees/catalogue.json');
const catalogue = parse(readFileSync(source, 'utf8'));
mkdirSync(dirname(cible), { recursive: true });
const texte = JSON.stringify(catalogue, null, 1) + '\n';
let ancien = '';
try { ancien = readFileSync(cible, 'utf8'); } catch { /* first build */ }
if (ancien !== texte) writeFileSync(cible, texte);
console.log(`catalogue : ${Object.keys(catalogue.zones).length} zones, ${Object.keys(catalogue.rencontres).length} rencontres, ${Object.keys(catalogue.items).length} items → ${cible}`);
