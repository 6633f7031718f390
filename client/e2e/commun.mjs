// What the browser tests share: their own `mmo serve` (fresh database, free port, own Redis and
// NATS prefixes) serving the built client, headless Debian chromium through playwright-core,
// the steps with their timings, screenshots into doc/client/, and on failure the step, a
// screenshot of each page, the pages' last console lines and the server log; then cleanup.
//
// Environment: MMO_BIN (default <repo>/target/debug/mmo), CHROMIUM (default /usr/bin/chromium),
// MMO_DATABASE_BASE (default postgres://postgres@127.0.0.1:5432), E2E_HEADED=1 to watch.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ici = dirname(fileURLToPath(import.meta.url));
const racine = resolve(ici, '../..');
export const BIN = process.env.MMO_BIN ?? resolve(racine, process.env.CARGO_TARGET_DIR ?? 'target', 'debug/mmo');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CLIENT = resolve(ici, '../dist/client/browser');
const CAPTURES = resolve(racine, 'doc/client');
const BASE_PG = process.env.MMO_DATABASE_BASE ?? 'postgres://postgres@127.0.0.1:5432';
const DEBUT = Date.now();

const jeton = Math.random().toString(36).slice(2, 8);
/** The run's database, also its Redis and bus prefix. */
export const base = `mmo_e2e_${Date.now()}_${jeton}`;
/** The run's database URL (for `mmo admin` on it). */
export const URL_BASE = `${BASE_PG}/${base}`;
const journalServeur = [];
const consoles = {};
const pages = {};
let serveur, navigateur, etapeCourante = 'démarrage';

export function log(...x) { console.log(`[${((Date.now() - DEBUT) / 1000).toFixed(1)}s]`, ...x); }

export async function etape(nom, f) {
  etapeCourante = nom;
  const t = Date.now();
  await f();
  log(`✔ ${nom} (${Date.now() - t} ms)`);
}

export function pause(ms) { return new Promise((r) => setTimeout(r, ms)); }

export const tid = (id) => `[data-testid="${id}"]`;

function portLibre() {
  return new Promise((ok, ko) => {
    const s = createServer();
    s.once('error', ko);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

/** Starts `mmo serve` on a fresh database (`env` adds settings): its URL. */
export async function demarrerServeur(env = {}) {
  if (!existsSync(BIN)) throw new Error(`binaire introuvable : ${BIN} (cargo build -p gateway --bin mmo)`);
  if (!existsSync(resolve(CLIENT, 'index.html'))) throw new Error(`client non construit : ${CLIENT} (scripts/client.sh build)`);
  mkdirSync(CAPTURES, { recursive: true });
  const port = await portLibre();
  const url = `http://127.0.0.1:${port}`;
  serveur = spawn(BIN, ['serve'], {
    env: {
      ...process.env,
      MMO_DATABASE_URL: URL_BASE,
      MMO_ADRESSE: `127.0.0.1:${port}`,
      MMO_CLIENT: CLIENT,
      MMO_ORIGINES: url,
      MMO_PREFIXE_REDIS: `${base}:`,
      MMO_PREFIXE_BUS: base,
      MMO_CONNEXIONS_PAR_MINUTE: '100',
      RUST_LOG: process.env.RUST_LOG ?? 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const flux of [serveur.stdout, serveur.stderr]) {
    flux.on('data', (d) => { journalServeur.push(d.toString()); if (journalServeur.length > 3000) journalServeur.shift(); });
  }
  serveur.on('exit', (code) => journalServeur.push(`\n[mmo serve terminé, code ${code}]\n`));
  for (let i = 0; i < 600; i++) {
    if (serveur.exitCode !== null) throw new Error('mmo serve s’est arrêté au démarrage');
    try {
      const r = await fetch(`${url}/readyz`);
      if (r.ok) return url;
    } catch { /* not yet */ }
    await pause(100);
  }
  throw new Error('mmo serve ne répond pas après 60 s');
}

/** `mmo <args>` on the run's database (e.g. `admin promouvoir tania`): its output. */
export function mmo(...args) {
  return execFileSync(BIN, args, { env: { ...process.env, MMO_DATABASE_URL: URL_BASE }, encoding: 'utf8' });
}

export async function lancerChromium() {
  navigateur = await chromium.launch({
    executablePath: CHROMIUM,
    headless: !process.env.E2E_HEADED,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A browser of its own (its own sessionStorage: its own account), on `url`. */
export async function nouveauJoueur(nom, url) {
  const contexte = await navigateur.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1, locale: 'fr-FR' });
  const page = await contexte.newPage();
  page.setDefaultTimeout(15_000);
  consoles[nom] = [];
  page.on('console', (m) => { consoles[nom].push(`${m.type()}: ${m.text()}`); if (consoles[nom].length > 200) consoles[nom].shift(); });
  page.on('pageerror', (e) => consoles[nom].push(`pageerror: ${e.message}`));
  pages[nom] = page;
  await page.goto(url);
  return page;
}

export async function capture(page, nom) {
  // Let transitions settle and most notices fade (they would hide the screen).
  for (let i = 0; i < 40 && (await page.locator('.avis-ligne').count()) > 1; i++) await pause(100);
  await pause(250);
  await page.screenshot({ path: resolve(CAPTURES, `${nom}.png`) });
  log(`  capture doc/client/${nom}.png`);
}

export async function attendre(description, f, delai = 15_000) {
  const fin = Date.now() + delai;
  let dernier;
  while (Date.now() < fin) {
    try { if (await f()) return; } catch (e) { dernier = e; }
    await pause(100);
  }
  throw new Error(`délai dépassé : ${description}${dernier ? ` (${dernier.message})` : ''}`);
}

export const MOT_DE_PASSE = 'une phrase de passe solide';

export async function inscrire(page, login) {
  await page.click(tid('onglet-inscription'));
  await page.fill(tid('login'), login);
  await page.fill(tid('mot-de-passe'), MOT_DE_PASSE);
  await page.click(tid('valider'));
  await page.waitForURL('**/personnages');
}

/** Creates a character and enters the world with it (screenshots of the form and list if asked). */
export async function creerPersonnage(page, nom, classe, photo, photoListe) {
  await page.fill(tid('nom-personnage'), nom);
  await page.click(tid(`classe-${classe}`));
  if (photo) await capture(page, photo);
  await page.click(tid('creer'));
  const carte = page.locator(`.perso[data-nom="${nom}"][data-classe="${classe}"]`);
  await carte.waitFor();
  if (photoListe) {
    await page.fill(tid('nom-personnage'), 'Ondine');
    await page.click(tid('classe-Heal'));
    await capture(page, photoListe);
  }
  await carte.locator(tid('jouer')).click();
  await page.waitForURL('**/jeu/monde');
  await page.locator(tid('connexion') + '[data-etat="en_ligne"]').waitFor();
}

export async function idDe(page) {
  return page.evaluate(() => sessionStorage.getItem('mmo.personnage'));
}

async function nettoyer() {
  await navigateur?.close().catch(() => {});
  if (serveur && serveur.exitCode === null) {
    serveur.kill('SIGTERM');
    await Promise.race([new Promise((r) => serveur.once('exit', r)), pause(5000)]);
    if (serveur.exitCode === null) serveur.kill('SIGKILL');
  }
  // Best effort: the run's database and Redis keys (its prefix is its own).
  try {
    execFileSync('psql', [`${BASE_PG}/postgres`, '-qc', `DROP DATABASE IF EXISTS "${base}" WITH (FORCE)`], { stdio: 'ignore' });
  } catch { /* psql missing, or the server still holds it */ }
  try {
    execFileSync('sh', ['-c', `redis-cli -h 127.0.0.1 --scan --pattern '${base}:*' | xargs -r -n 500 redis-cli -h 127.0.0.1 del`], { stdio: 'ignore' });
  } catch { /* redis-cli missing */ }
}

/** Runs a test: fails past `limiteMs`, stops itself a minute later; cleans up either way. */
export async function executer(principal, limiteMs) {
  const garde = setTimeout(() => { console.error(`✘ le test dépasse ${limiteMs / 1000 + 60} s`); process.exit(2); }, limiteMs + 60_000);
  try {
    await principal();
    if (Date.now() - DEBUT > limiteMs) throw new Error(`trop long : ${(Date.now() - DEBUT) / 1000} s`);
    log(`✔ tout est passé en ${((Date.now() - DEBUT) / 1000).toFixed(1)} s`);
    await nettoyer();
    clearTimeout(garde);
  } catch (e) {
    console.error(`\n✘ échec à l’étape « ${etapeCourante} » : ${e.stack ?? e}`);
    for (const [n, page] of Object.entries(pages)) {
      const f = resolve(process.env.TMPDIR ?? '/tmp', `mmo-e2e-echec-${n}.png`);
      await page.screenshot({ path: f }).then(() => console.error(`capture de la page ${n} : ${f}`)).catch(() => {});
    }
    for (const [n, l] of Object.entries(consoles)) console.error(`\n--- console du navigateur ${n} (fin) ---\n${l.slice(-40).join('\n')}`);
    console.error(`\n--- journal de mmo serve (fin) ---\n${journalServeur.join('').split('\n').slice(-150).join('\n')}`);
    await nettoyer();
    clearTimeout(garde);
    process.exit(1);
  }
}
