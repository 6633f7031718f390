// The one WebSocket of the client: JSON-RPC 2.0 calls with ids, the server's pushes as RxJS
// streams, and a connection that heals itself (doc/protocole.md §6, §7). On a lost connection
// it reconnects with exponential backoff, authenticates again (refreshing the token when it
// must), then asks `evenements.depuis` for everything after the last cursor it processed until
// `a_jour`. An event that arrives twice (pushed and caught up) is passed on once. Reads of the
// read models carry the cursor the last command answered (`a_jour_de`, §3.8): they show what
// this client just wrote. A banned account (close code 4403, or `COMPTE_BANNI` when it
// authenticates or refreshes, §4.10) stops here: no reconnection until the player asks.
import { Injectable, inject, signal } from '@angular/core';
import { Subject } from 'rxjs';
import { ErreurJeu } from './erreurs';
import { SessionService } from './session.service';

export type EtatConnexion = 'hors_ligne' | 'connexion' | 'en_ligne' | 'reconnexion';

/** The `params` of an `evenement` notification (§6.1). */
export interface EvenementPousse {
  agregat: 'Joueur' | 'Inventaire' | 'Quete' | 'Combat' | 'Echange';
  id: string;
  sequence: number;
  curseur: string;
  type: string;
  donnees: any;
  correlation_id: string;
  horodatage: string;
  /** Arrived through `evenements.depuis` after a reconnection. */
  rattrape?: boolean;
}

export interface Deplacement { joueur_id: string; nom: string; zone: string; position: { x: number; y: number }; classe?: string | null; }
/** `monde.apparitions`: who entered the interest area of `joueur_id` (§4.7). */
/** `monde.deplacements`: the moves a character of the account (`joueur_id`) sees, one per tick. */
export interface LotDeplacements { joueur_id: string; zone: string; deplacements: Deplacement[]; }
export interface Apparitions { joueur_id: string; zone: string; apparitions: Deplacement[]; }
/** `monde.disparitions`: who left the interest area of `joueur_id` (§4.7). */
export interface Disparitions { joueur_id: string; zone: string; disparitions: string[]; }
export interface MessageChat {
  id: string;
  canal: { type: 'monde' | 'zone' | 'dire' | 'groupe' | 'prive'; zone?: string; combat_id?: string; entre?: string[] };
  de: string; nom: string; texte: string; horodatage: string;
}

/** A ban in force on the account (§4.10): the game master's reason, its end (`null`: none). */
export interface Bannissement { raison: string | null; jusqu_a: string | null; }

interface EnAttente { resoudre: (v: any) => void; rejeter: (e: ErreurJeu) => void; minuteur: ReturnType<typeof setTimeout>; }

const RETRY = new Set(['CONNEXION_PERDUE', 'DELAI_DEPASSE', 'CONFLIT']);

/** The reads of the read models: they take `a_jour_de` (§3.8). */
const LECTURES = new Set([
  'joueur.lister', 'joueur.profil', 'classement.consulter', 'combat.etat', 'combat.historique',
  'quete.journal', 'inventaire.consulter', 'economie.grand_livre', 'economie.totaux',
]);

@Injectable({ providedIn: 'root' })
export class RpcService {
  private readonly sessions = inject(SessionService);

  readonly etat = signal<EtatConnexion>('hors_ligne');
  /** Successful reconnections since the page opened. */
  readonly reconnexions = signal(0);
  /** Events received through catch-up (not pushed live). */
  readonly rattrapes = signal(0);
  /** The account is banned: the socket is closed and stays closed. */
  readonly banni = signal<Bannissement | null>(null);

  readonly evenements$ = new Subject<EvenementPousse>();
  readonly deplacements$ = new Subject<LotDeplacements>();
  readonly apparitions$ = new Subject<Apparitions>();
  readonly disparitions$ = new Subject<Disparitions>();
  readonly messages$ = new Subject<MessageChat>();
  /** Authenticated and caught up; `reconnexion` when it follows a lost connection. */
  readonly enLigne$ = new Subject<{ reconnexion: boolean }>();
  /** The session is gone for good (refresh refused): back to the login screen. */
  readonly sessionPerdue$ = new Subject<void>();
  /** A game master closed the account's sockets (4410): the client reconnects. */
  readonly expulse$ = new Subject<void>();

  private ws?: WebSocket;
  private idSuivant = 1;
  private readonly attente = new Map<number, EnAttente>();
  private voulu = false;
  private tentative = 0;
  private dejaConnecte = false;
  private bloqueJusqua = 0;
  private prochain?: ReturnType<typeof setTimeout>;
  private curseur: string | null = null;
  private rattrapage = false;
  private curseurLive: string | null = null;
  /** The cursor the last command answered: where this client's own writes end (§3.8). */
  private ecrit: string | null = null;
  private readonly vus = new Set<string>();
  private readonly ordreVus: string[] = [];
  private enLigneAttente: (() => void)[] = [];
  /** Sockets opened since the page loaded (the browser test checks a ban opens no more). */
  private ouvertures = 0;

  constructor() {
    this.sessions.surNouveauJeton = (jeton) => {
      if (this.etat() === 'en_ligne' && this.ws) {
        this.appelSur(this.ws, 'session.authentifier', { jeton }).catch(() => {});
      }
    };
    // Test and debugging hook: drop the socket as a network failure would.
    (window as any).__mmo = {
      couper: (blocageMs = 0) => this.couper(blocageMs),
      etat: () => this.etat(),
      reconnexions: () => this.reconnexions(),
      rattrapes: () => this.rattrapes(),
      ouvertures: () => this.ouvertures,
    };
  }

  /** Opens the socket for the current session (idempotent; not while the account is banned). */
  demarrer(): void {
    if (this.voulu || this.banni()) return;
    const s = this.sessions.session();
    if (!s) return;
    this.voulu = true;
    this.curseur = sessionStorage.getItem(this.cleCurseur()) ?? null;
    this.ouvrir();
  }

  arreter(): void {
    this.voulu = false;
    this.dejaConnecte = false;
    clearTimeout(this.prochain);
    const ws = this.ws;
    this.ws = undefined;
    ws?.close(1000, 'fin de session');
    this.ecrit = null;
    this.etat.set('hors_ligne');
    this.echouerTout();
  }

  /** After a ban: try again (a timed ban may have ended, or been lifted). */
  reessayer(): void {
    this.banni.set(null);
    this.demarrer();
  }

  /** Simulates a network failure; the next attempt waits at least `blocageMs`. */
  couper(blocageMs = 0): void {
    this.bloqueJusqua = Date.now() + blocageMs;
    this.ws?.close(4000, 'coupure simulée');
  }

  /**
   * A call (a read, or a command without retry). Waits for the connection if it is down. A read
   * of the read models asks to be at least as fresh as this client's last command.
   */
  async appel<T = any>(methode: string, params: object = {}, delaiMs = 15_000): Promise<T> {
    const debut = Date.now();
    if (this.ecrit && LECTURES.has(methode) && !('a_jour_de' in params)) params = { ...params, a_jour_de: this.ecrit };
    await this.pret(delaiMs);
    return this.appelSur(this.ws!, methode, params, Math.max(1_000, delaiMs - (Date.now() - debut)));
  }

  /**
   * A command: one fresh `id_commande` for this intention, reused for each retry after a lost
   * connection or a conflict, so the server applies it once (§3.4).
   */
  async commande<T = any>(methode: string, params: object): Promise<T> {
    const id_commande = uuid();
    for (let essai = 1; ; essai++) {
      try {
        const r = await this.appel<T>(methode, { ...params, id_commande });
        const curseur = (r as any)?.curseur;
        if (typeof curseur === 'string' && (!this.ecrit || compareCurseurs(curseur, this.ecrit) > 0)) this.ecrit = curseur;
        return r;
      } catch (e) {
        if (!(e instanceof ErreurJeu) || !RETRY.has(e.code) || essai >= 4) throw e;
        await new Promise((r) => setTimeout(r, 150 * essai));
      }
    }
  }

  private pret(delaiMs: number): Promise<void> {
    if (this.etat() === 'en_ligne' && this.ws?.readyState === WebSocket.OPEN) return Promise.resolve();
    if (!this.voulu) return Promise.reject(new ErreurJeu('NON_AUTHENTIFIE', 'pas connecté'));
    return new Promise((resoudre, rejeter) => {
      const t = setTimeout(() => rejeter(new ErreurJeu('CONNEXION_PERDUE', 'hors ligne')), delaiMs);
      this.enLigneAttente.push(() => { clearTimeout(t); resoudre(); });
    });
  }

  private appelSur<T>(ws: WebSocket, methode: string, params: object, delaiMs = 15_000): Promise<T> {
    if (ws.readyState !== WebSocket.OPEN) return Promise.reject(new ErreurJeu('CONNEXION_PERDUE', 'socket fermée'));
    const id = this.idSuivant++;
    return new Promise<T>((resoudre, rejeter) => {
      const minuteur = setTimeout(() => {
        this.attente.delete(id);
        rejeter(new ErreurJeu('DELAI_DEPASSE', `${methode} : pas de réponse`));
      }, delaiMs);
      this.attente.set(id, { resoudre, rejeter, minuteur });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: methode, params }));
    });
  }

  private async ouvrir(): Promise<void> {
    if (!this.voulu) return;
    this.etat.set(this.dejaConnecte ? 'reconnexion' : 'connexion');
    let jeton: string;
    try {
      jeton = await this.sessions.jetonValide();
    } catch (e) {
      if (e instanceof ErreurJeu && e.code === 'COMPTE_BANNI') return this.bannir(e);
      if (e instanceof ErreurJeu && (e.statut === 401 || e.code === 'NON_AUTHENTIFIE')) return this.perdreSession();
      return this.replanifier();
    }
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/ws`);
    this.ouvertures++;
    this.ws = ws;
    ws.onmessage = (m) => this.recevoir(m.data);
    ws.onclose = (ev) => this.ferme(ws, ev);
    ws.onopen = async () => {
      try {
        await this.appelSur(ws, 'session.authentifier', { jeton }, 10_000);
        await this.rattraper(ws);
        const reconnexion = this.dejaConnecte;
        this.dejaConnecte = true;
        this.tentative = 0;
        if (reconnexion) this.reconnexions.update((n) => n + 1);
        this.etat.set('en_ligne');
        const attente = this.enLigneAttente;
        this.enLigneAttente = [];
        attente.forEach((f) => f());
        this.enLigne$.next({ reconnexion });
      } catch (e) {
        if (e instanceof ErreurJeu && e.code === 'COMPTE_BANNI') return this.bannir(e);
        if (e instanceof ErreurJeu && e.code.startsWith('JETON')) await this.sessions.rafraichir().catch(() => {});
        ws.close(4000, 'authentification ratée');
      }
    };
  }

  /** §6.3: from the last processed cursor to `a_jour` (or the head, for a new client). */
  private async rattraper(ws: WebSocket): Promise<void> {
    this.rattrapage = true;
    this.curseurLive = null;
    try {
      if (this.curseur === null) {
        const tete = await this.appelSur<{ curseur: string }>(ws, 'evenements.depuis', {});
        this.avancer(tete.curseur);
        return;
      }
      let curseur = this.curseur;
      for (let page = 0; page < 100; page++) {
        const r = await this.appelSur<{ evenements: EvenementPousse[]; curseur: string; a_jour: boolean }>(
          ws, 'evenements.depuis', { curseur, limite: 200 });
        for (const e of r.evenements) this.traiter({ ...e, rattrape: true });
        curseur = r.curseur;
        if (r.a_jour) break;
      }
      this.avancer(curseur);
    } finally {
      this.rattrapage = false;
      if (this.curseurLive) this.avancer(this.curseurLive);
    }
  }

  private recevoir(texte: string): void {
    let m: any;
    try { m = JSON.parse(texte); } catch { return; }
    if (Array.isArray(m)) { m.forEach((x) => this.recevoirUn(x)); return; }
    this.recevoirUn(m);
  }

  private recevoirUn(m: any): void {
    if (m && typeof m.method === 'string') {
      switch (m.method) {
        case 'evenement': this.traiter(m.params); break;
        case 'monde.deplacements': this.deplacements$.next(m.params); break;
        case 'monde.apparitions': this.apparitions$.next(m.params); break;
        case 'monde.disparitions': this.disparitions$.next(m.params); break;
        case 'chat.message': this.messages$.next(m.params); break;
      }
      return;
    }
    const a = this.attente.get(m?.id);
    if (!a) return;
    this.attente.delete(m.id);
    clearTimeout(a.minuteur);
    if (m.error) {
      const d = m.error.data ?? {};
      a.rejeter(new ErreurJeu(d.code ?? 'ERREUR', m.error.message ?? '', m.error.code, d));
    } else {
      a.resoudre(m.result);
    }
  }

  private traiter(e: EvenementPousse): void {
    const cle = `${e.agregat}/${e.id}/${e.sequence}`;
    if (this.vus.has(cle)) return;
    this.vus.add(cle);
    this.ordreVus.push(cle);
    if (this.ordreVus.length > 20_000) this.vus.delete(this.ordreVus.shift()!);
    if (this.rattrapage && !e.rattrape) {
      if (!this.curseurLive || compareCurseurs(e.curseur, this.curseurLive) > 0) this.curseurLive = e.curseur;
    } else {
      this.avancer(e.curseur);
    }
    if (e.rattrape) this.rattrapes.update((n) => n + 1);
    this.evenements$.next(e);
  }

  private avancer(curseur: string): void {
    if (this.curseur && compareCurseurs(curseur, this.curseur) <= 0) return;
    this.curseur = curseur;
    sessionStorage.setItem(this.cleCurseur(), curseur);
  }

  private ferme(ws: WebSocket, ev: CloseEvent): void {
    if (ws !== this.ws) return;
    this.ws = undefined;
    this.echouerTout();
    if (!this.voulu) return;
    if (ev.code === 4403) { this.bannir(); return; }
    if (ev.code === 4410) this.expulse$.next();
    if (ev.code === 4401) this.sessions.rafraichir().catch(() => {});
    this.replanifier();
  }

  /**
   * The account is banned (§4.10): close, and stay closed — reconnecting would only be refused
   * again. The close frame says no more than « compte banni »: the reason and the end come
   * with the refusal of a call, asked once over HTTP when the refusal is not at hand.
   */
  private async bannir(refus?: ErreurJeu): Promise<void> {
    // A later « Réessayer » that gets in is a reconnection: the game reads everything again.
    const deja = this.dejaConnecte;
    this.arreter();
    this.dejaConnecte = deja;
    const lire = (e: ErreurJeu): Bannissement => ({
      raison: (e.donnees['raison'] as string | undefined) ?? (e.detail.replace(/^compte banni : /, '') || null),
      jusqu_a: (e.donnees['jusqu_a'] as string | null | undefined) ?? null,
    });
    this.banni.set(refus ? lire(refus) : { raison: null, jusqu_a: null });
    const s = this.sessions.session();
    if (refus || !s) return;
    try {
      const rep = await fetch('/rpc', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.jeton_acces}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'joueur.lister', params: {} }),
      });
      const d = (await rep.json())?.error?.data;
      if (d?.code === 'COMPTE_BANNI') this.banni.set(lire(new ErreurJeu(d.code, '', 0, d)));
    } catch { /* the sentence stays without its reason */ }
  }

  private replanifier(): void {
    if (!this.voulu) return;
    this.etat.set(this.dejaConnecte ? 'reconnexion' : 'connexion');
    const base = Math.min(10_000, 300 * 2 ** this.tentative++);
    const delai = Math.max(base * (0.75 + Math.random() / 2), this.bloqueJusqua - Date.now());
    clearTimeout(this.prochain);
    this.prochain = setTimeout(() => this.ouvrir(), delai);
  }

  private echouerTout(): void {
    for (const [id, a] of this.attente) {
      clearTimeout(a.minuteur);
      a.rejeter(new ErreurJeu('CONNEXION_PERDUE', 'connexion perdue'));
      this.attente.delete(id);
    }
  }

  private perdreSession(): void {
    this.arreter();
    this.sessions.oublier();
    this.sessionPerdue$.next();
  }

  private cleCurseur(): string {
    return `mmo.curseur.${this.sessions.session()?.compte_id ?? ''}`;
  }
}

/** Cursors are `"<transaction>.<position>"`, two integers (§6.2). */
export function compareCurseurs(a: string, b: string): number {
  const [ta, pa] = a.split('.').map((x) => BigInt(x || '0'));
  const [tb, pb] = b.split('.').map((x) => BigInt(x || '0'));
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (pa !== pb) return pa < pb ? -1 : 1;
  return 0;
}

/** A v4 UUID, also outside secure contexts (where crypto.randomUUID is missing). */
export function uuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
