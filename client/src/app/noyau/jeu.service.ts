// The game as the client sees it, for the character being played: one store fed by reads
// (JSON-RPC queries) and kept live by the pushes (events, moves, chat). Screens read its
// signals and call its actions; every refusal becomes a readable notice.
import { Injectable, inject, signal, computed } from '@angular/core';
import { Router } from '@angular/router';
import { CATALOGUE, Classe, DefZone, nomItem, nomZone } from '../donnees/catalogue';
import { VueCombat } from './combat';
import { ErreurJeu, enErreurJeu } from './erreurs';
import { Deplacement, EvenementPousse, MessageChat, RpcService } from './rpc.service';
import { SessionService } from './session.service';

export interface Personnage {
  joueur_id: string; nom: string; classe: Classe | null; niveau: number | null; xp: number | null; combat_id: string | null;
}
export interface Profil {
  joueur_id: string; nom: string; classe: Classe; niveau: number; xp: number; combat_id: string | null;
  pv_max: number; attaque: number; defense: number; soin: number; version: number;
}
export interface Present { joueur_id: string; nom: string; x: number; y: number; classe?: Classe; vu: number; }
/** The character's zone: its description (`monde.zone`'s, over the catalog's) and the side of
 *  an interest cell in metres (`cellule_interet`): the map frames the character's area with it. */
export interface ZoneVue { code: string; def: DefZone; cellule: number; }
export interface Offre { or: number; items: Record<string, number>; }
export interface EchangeVue {
  id: string; proposant: string; destinataire: string; offres: Record<string, Offre>;
  acceptes: string[]; statut: 'ouvert' | 'conclu' | 'annule' | 'expire'; appliques: number;
  /** When the trade expires if nobody concludes it (RFC 3339). */
  echeance: string;
}
export interface LigneQuete { quete: string; statut: 'en_cours' | 'terminee' | 'abandonnee'; progression: number; requis: number; }
export interface Avis { id: number; texte: string; genre: 'erreur' | 'info' | 'gain'; }
export type Canal = { type: 'zone' } | { type: 'dire' } | { type: 'monde' } | { type: 'groupe'; combat_id: string } | { type: 'prive'; destinataire: string };

const PAS = 0.6; // metres per step, one step every 100 ms: 6 m/s, under the 7.7 m/s the server's distance budget refills at

@Injectable({ providedIn: 'root' })
export class JeuService {
  private readonly rpc = inject(RpcService);
  private readonly sessions = inject(SessionService);
  private readonly router = inject(Router);

  readonly personnage = signal<Profil | null>(null);
  readonly zone = signal<ZoneVue | null>(null);
  readonly position = signal<{ x: number; y: number }>({ x: 0, y: 0 });
  readonly presents = signal<Present[]>([]);
  readonly inventaire = signal<{ or: number; items: Record<string, number>; version: number }>({ or: 0, items: {}, version: 0 });
  readonly journal = signal<Record<string, LigneQuete>>({});
  readonly combat = signal<VueCombat | null>(null, { equal: () => false });
  readonly combatsConnus = signal<string[]>([]);
  readonly echanges = signal<Record<string, EchangeVue>>({}, { equal: () => false });
  readonly canal = signal<Canal>({ type: 'zone' });
  readonly messages = signal<Record<string, MessageChat[]>>({});
  readonly avis = signal<Avis[]>([]);
  readonly derniereErreur = signal<string | null>(null);
  readonly cible = signal<{ x: number; y: number } | null>(null);
  /** The last private conversation opened: its tab stays in the chat. */
  readonly dernierPrive = signal<string | null>(null);

  readonly messagesDuCanal = computed(() => this.messages()[this.cleCanal(this.canal())] ?? []);
  readonly echangesOuverts = computed(() => Object.values(this.echanges()).filter((e) => e.statut === 'ouvert'));

  private readonly touches = new Set<string>();
  private enVol = false;
  private pas?: ReturnType<typeof setInterval>;
  private presence?: ReturnType<typeof setInterval>;
  private tampon = new Map<number, { type: string; donnees: any }>();
  private resync?: ReturnType<typeof setTimeout>;
  private classes = new Map<string, Classe>();
  private avisSuivant = 1;

  constructor() {
    this.rpc.evenements$.subscribe((e) => this.surEvenement(e));
    this.rpc.deplacements$.subscribe((l) => {
      if (l.joueur_id !== this.personnage()?.joueur_id) return;
      for (const d of l.deplacements) this.surDeplacement(d);
    });
    // The server tells who enters and leaves the character's interest area (§4.7): the map
    // is the server's picture, without reading the zone again.
    this.rpc.apparitions$.subscribe((a) => {
      if (a.joueur_id !== this.personnage()?.joueur_id) return;
      for (const d of a.apparitions) this.surDeplacement(d);
    });
    this.rpc.disparitions$.subscribe((d) => {
      if (d.joueur_id !== this.personnage()?.joueur_id) return;
      const partis = new Set(d.disparitions);
      this.presents.update((l) => l.filter((x) => !partis.has(x.joueur_id)));
    });
    this.rpc.messages$.subscribe((m) => this.surMessage(m));
    let rattrapes = 0;
    this.rpc.enLigne$.subscribe(({ reconnexion }) => {
      const n = this.rpc.rattrapes() - rattrapes;
      rattrapes = this.rpc.rattrapes();
      if (!reconnexion) return;
      this.signaler(`De retour en ligne : ${n} événement${n > 1 ? 's' : ''} rattrapé${n > 1 ? 's' : ''}.`, 'info');
      this.relire();
    });
    this.rpc.sessionPerdue$.subscribe(() => { this.quitterPartie(); this.router.navigateByUrl('/connexion'); });
    this.rpc.expulse$.subscribe(() => this.signaler('Un maître du jeu a fermé votre connexion : reconnexion…', 'erreur'));
  }

  // ------------------------------------------------------------------ notices

  signaler(texte: string, genre: Avis['genre'] = 'info'): void {
    const id = this.avisSuivant++;
    this.avis.update((l) => [...l.slice(-2), { id, texte, genre }]);
    setTimeout(() => this.avis.update((l) => l.filter((a) => a.id !== id)), genre === 'erreur' ? 7000 : 4000);
  }

  erreur(x: unknown): void {
    const e = enErreurJeu(x);
    console.warn(`[${e.code}] ${e.detail}`);
    this.derniereErreur.set(e.humain);
    this.signaler(e.humain, 'erreur');
  }

  /** Runs an action; a refusal becomes a notice. Resolves to the result or undefined. */
  async tenter<T>(f: () => Promise<T>): Promise<T | undefined> {
    this.derniereErreur.set(null);
    try {
      return await f();
    } catch (e) {
      this.erreur(e);
      return undefined;
    }
  }

  // ------------------------------------------------------------------ playing a character

  async jouer(joueurId: string): Promise<void> {
    this.quitterPartie();
    this.rpc.demarrer();
    const profil = await this.lireQuand<Profil>('joueur.profil', { joueur_id: joueurId }, (p) => !!p.classe);
    this.personnage.set(profil);
    sessionStorage.setItem('mmo.personnage', joueurId);
    this.classes.set(profil.joueur_id, profil.classe);
    await this.relire();
    this.pas = setInterval(() => this.marcher(), 100);
    this.presence = setInterval(() => this.rafraichirZone().catch(() => {}), 10_000);
  }

  quitterPartie(): void {
    clearInterval(this.pas);
    clearInterval(this.presence);
    this.personnage.set(null);
    this.zone.set(null);
    this.presents.set([]);
    this.combat.set(null);
    this.echanges.set({});
    this.messages.set({});
    this.journal.set({});
    this.combatsConnus.set([]);
    this.dernierPrive.set(null);
    this.canal.set({ type: 'zone' });
    this.tampon.clear();
    sessionStorage.removeItem('mmo.personnage');
  }

  /** Everything read again (after joining the game, or a reconnection: the new socket must
   *  also call `monde.zone` to receive the zone's moves again). */
  async relire(): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    // The zone first: the zone channel's history is kept under the zone's code.
    await this.rafraichirZone().catch((e) => this.erreur(e));
    await Promise.all([
      this.rafraichirProfil(),
      this.rafraichirInventaire(),
      this.rafraichirJournal(),
      this.chargerCanal(this.canal()),
    ].map((x) => x.catch((e) => this.erreur(e))));
    const c = this.personnage()?.combat_id ?? this.combat()?.id;
    if (c) await this.chargerCombat(c).catch(() => {});
  }

  async rafraichirProfil(): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    const r = await this.rpc.appel<Profil>('joueur.profil', { joueur_id: p.joueur_id });
    const actuel = this.personnage();
    if (actuel && r.version >= actuel.version) this.personnage.set(r);
    if (r.combat_id && this.combat()?.id !== r.combat_id) await this.chargerCombat(r.combat_id);
  }

  // ------------------------------------------------------------------ world

  async rafraichirZone(): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    const r = await this.rpc.appel<any>('monde.zone', { joueur_id: p.joueur_id });
    const code = r.zone.code as string;
    if (this.zone()?.code !== code) {
      this.zone.set({
        code,
        def: { ...CATALOGUE.zones[code], ...r.zone, portails: r.zone.portails },
        cellule: r.cellule_interet ?? CATALOGUE.regles.cellule_interet,
      });
    }
    if (!this.enVol && !this.cible() && this.touches.size === 0) this.position.set(r.position);
    const maintenant = Date.now();
    this.presents.set(
      (r.presents as any[])
        .filter((x) => x.joueur_id !== p.joueur_id)
        .map((x) => ({ joueur_id: x.joueur_id, nom: x.nom, x: x.position.x, y: x.position.y, classe: this.classes.get(x.joueur_id), vu: maintenant })),
    );
    for (const x of r.presents as any[]) {
      this.noms.set(x.joueur_id, x.nom);
      if (x.classe) this.classes.set(x.joueur_id, x.classe);
    }
    this.presents.update((l) => l.map((x) => ({ ...x, classe: x.classe ?? this.classes.get(x.joueur_id) })));
    this.completerClasses();
  }

  private completerClasses(): void {
    for (const pr of this.presents()) {
      if (pr.classe || this.classes.has(pr.joueur_id)) continue;
      this.classes.set(pr.joueur_id, 'DPS');
      this.rpc.appel<Profil>('joueur.profil', { joueur_id: pr.joueur_id }).then((pf) => {
        this.classes.set(pf.joueur_id, pf.classe);
        this.presents.update((l) => l.map((x) => (x.joueur_id === pf.joueur_id ? { ...x, classe: pf.classe } : x)));
      }).catch(() => this.classes.delete(pr.joueur_id));
    }
  }

  private surDeplacement(d: Deplacement): void {
    this.noms.set(d.joueur_id, d.nom);
    if (d.classe) this.classes.set(d.joueur_id, d.classe as Classe);
    const p = this.personnage();
    if (!p || d.joueur_id === p.joueur_id) return;
    const ici = this.zone()?.code;
    if (d.zone !== ici) {
      this.presents.update((l) => l.filter((x) => x.joueur_id !== d.joueur_id));
      return;
    }
    this.presents.update((l) => {
      const autre = l.filter((x) => x.joueur_id !== d.joueur_id);
      return [...autre, { joueur_id: d.joueur_id, nom: d.nom, x: d.position.x, y: d.position.y, classe: this.classes.get(d.joueur_id), vu: Date.now() }];
    });
    this.completerClasses();
  }

  toucheEnfoncee(cle: string): void { this.touches.add(cle); this.cible.set(null); }
  toucheRelachee(cle: string): void { this.touches.delete(cle); }
  allerVers(x: number, y: number): void { this.cible.set({ x, y }); }

  /** One step toward the held keys or the clicked point; one move in flight at a time. */
  private async marcher(): Promise<void> {
    const p = this.personnage();
    const z = this.zone();
    if (!p || !z || this.enVol || this.rpc.etat() !== 'en_ligne') return;
    const pos = this.position();
    let dx = 0, dy = 0;
    const t = this.touches;
    if (t.has('ArrowLeft') || t.has('a') || t.has('q')) dx -= 1;
    if (t.has('ArrowRight') || t.has('d')) dx += 1;
    if (t.has('ArrowUp') || t.has('w') || t.has('z')) dy -= 1;
    if (t.has('ArrowDown') || t.has('s')) dy += 1;
    const c = this.cible();
    if (!dx && !dy && c) {
      dx = c.x - pos.x;
      dy = c.y - pos.y;
      if (Math.hypot(dx, dy) < 0.05) { this.cible.set(null); return; }
    }
    const n = Math.hypot(dx, dy);
    if (!n) return;
    const l = Math.min(PAS, c && !t.size ? n : PAS);
    const x = clamp(pos.x + (dx / n) * l, 0, z.def.largeur);
    const y = clamp(pos.y + (dy / n) * l, 0, z.def.hauteur);
    this.enVol = true;
    try {
      const r = await this.rpc.appel<any>('monde.deplacer', { joueur_id: p.joueur_id, x: round(x), y: round(y) }, 5_000);
      this.position.set(r.position);
    } catch (e) {
      const err = enErreurJeu(e);
      // A refused step says where the server keeps the character: snap back to it. Too fast
      // (a lag spike bunched steps together) is no reason to stop walking.
      const ici = err.donnees['position'] as { x: number; y: number } | undefined;
      if (ici && err.donnees['zone'] === z.code) this.position.set(ici);
      if (err.code !== 'CONFLIT' && err.code !== 'CONNEXION_PERDUE' && err.code !== 'TROP_RAPIDE') {
        this.cible.set(null);
        this.touches.clear();
        this.erreur(err);
      }
    } finally {
      this.enVol = false;
    }
  }

  /** The portal within reach (the catalog's `rayon_portail`), if any. */
  portailProche() {
    const z = this.zone();
    const pos = this.position();
    const rayon = CATALOGUE.deplacement.rayon_portail;
    return z?.def.portails.find((pt) => Math.hypot(pt.position.x - pos.x, pt.position.y - pos.y) <= rayon) ?? null;
  }

  async passerPortail(vers: string): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    await this.tenter(async () => {
      // No id_commande here: a resend after a lost answer is recognised by the server (§4.7).
      for (let essai = 1; ; essai++) {
        try {
          await this.rpc.appel('monde.changer_zone', { joueur_id: p.joueur_id, vers });
          break;
        } catch (e) {
          const code = enErreurJeu(e).code;
          if (essai >= 4 || (code !== 'CONFLIT' && code !== 'CONNEXION_PERDUE')) throw e;
          await new Promise((r) => setTimeout(r, 150 * essai));
        }
      }
      this.cible.set(null);
      await this.rafraichirZone();
      await this.chargerCanal({ type: 'zone' });
      this.signaler(`Bienvenue : ${nomZone(vers)}.`, 'info');
    });
  }

  // ------------------------------------------------------------------ chat

  cleCanal(c: Canal | MessageChat['canal']): string {
    switch (c.type) {
      // Each zone has its own channel: the history of the plain is not the forest's.
      case 'zone': return `zone:${(c as any).zone ?? this.zone()?.code ?? ''}`;
      case 'monde': return 'monde';
      // Heard live only: no history (§4.8), one list whatever the cell.
      case 'dire': return 'dire';
      case 'groupe': return `groupe:${(c as any).combat_id}`;
      case 'prive': {
        const moi = this.personnage()?.joueur_id;
        const autre = 'destinataire' in c ? c.destinataire : (c as any).entre?.find((x: string) => x !== moi) ?? moi;
        return `prive:${autre}`;
      }
    }
  }

  async chargerCanal(c: Canal): Promise<void> {
    this.canal.set(c);
    if (c.type === 'prive') this.dernierPrive.set(c.destinataire);
    const p = this.personnage();
    if (!p) return;
    const r = await this.rpc.appel<{ messages: MessageChat[] }>('chat.historique', { joueur_id: p.joueur_id, canal: c, limite: 50 });
    const cle = this.cleCanal(c);
    this.messages.update((m) => ({ ...m, [cle]: fusionner(m[cle] ?? [], [...r.messages].reverse()) }));
  }

  async envoyer(texte: string, canal: Canal = this.canal()): Promise<boolean> {
    const p = this.personnage();
    if (!p || !texte.trim()) return false;
    const r = await this.tenter(() => this.rpc.commande('chat.envoyer', { joueur_id: p.joueur_id, canal, texte }));
    return r !== undefined;
  }

  /** Reports another player's character to the game masters (`signalement.creer`, §4.10). */
  async signalerJoueur(cible: string, raison: string): Promise<boolean> {
    const p = this.personnage();
    if (!p || !raison.trim()) return false;
    const r = await this.tenter(() => this.rpc.appel('signalement.creer', { joueur_id: p.joueur_id, cible_id: cible, raison: raison.trim() }));
    if (r) this.signaler(`Signalement de ${this.nomDe(cible)} envoyé aux maîtres du jeu.`, 'info');
    return r !== undefined;
  }

  private surMessage(m: MessageChat): void {
    this.noms.set(m.de, m.nom);
    if (m.canal.type === 'zone' && m.canal.zone !== this.zone()?.code) return;
    const cle = this.cleCanal(m.canal);
    this.messages.update((all) => ({ ...all, [cle]: fusionner(all[cle] ?? [], [m]) }));
  }

  // ------------------------------------------------------------------ combat

  async preparerCombat(rencontre: string): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    await this.tenter(async () => {
      const r = await this.rpc.commande<{ combat_id: string }>('combat.demarrer', { joueur_id: p.joueur_id, rencontre });
      await this.chargerCombat(r.combat_id);
      const nom = CATALOGUE.rencontres[rencontre]?.nom ?? rencontre;
      // The invitation travels in the zone chat: other clients show it as a « Rejoindre » button.
      await this.envoyer(`Je prépare « ${nom} » : qui vient ? [combat:${r.combat_id}]`, { type: 'zone' });
    });
  }

  async rejoindreCombat(combatId: string): Promise<boolean> {
    const p = this.personnage();
    if (!p) return false;
    const r = await this.tenter(() => this.rpc.commande('combat.rejoindre', { joueur_id: p.joueur_id, combat_id: combatId }));
    if (r === undefined) return false;
    await this.chargerCombat(combatId).catch((e) => this.erreur(e));
    return true;
  }

  async lancerCombat(): Promise<void> {
    const p = this.personnage(), c = this.combat();
    if (!p || !c) return;
    await this.tenter(() => this.rpc.commande('combat.lancer', { joueur_id: p.joueur_id, combat_id: c.id }));
  }

  async quitterCombat(): Promise<void> {
    const p = this.personnage(), c = this.combat();
    if (!p || !c) return;
    await this.tenter(() => this.rpc.commande('combat.quitter', { joueur_id: p.joueur_id, combat_id: c.id }));
  }

  async agir(action: { type: 'attaquer'; cible: number } | { type: 'soigner'; cible: string } | { type: 'provoquer' } | { type: 'defendre' }): Promise<void> {
    const p = this.personnage(), c = this.combat();
    if (!p || !c) return;
    // The events come back pushed (the answer holds them too, but only the pushes carry
    // their sequence numbers, which the fold needs).
    await this.tenter(() => this.rpc.commande('combat.agir', { joueur_id: p.joueur_id, combat_id: c.id, action }));
  }

  fermerCombat(): void {
    this.combat.set(null);
  }

  /** The whole combat from its audit trail (also after joining late or reconnecting). */
  async chargerCombat(id: string): Promise<void> {
    this.noterCombat(id);
    const r = await this.lireQuand<any>('combat.historique', { combat_id: id }, (h) => h.evenements.length > 0);
    let vue = this.combat();
    if (!vue || vue.id !== id) {
      vue = new VueCombat(id);
      this.tampon.clear();
    }
    this.combat.set(vue);
    for (const e of r.evenements) if (e.sequence > vue.appliques) this.tampon.set(e.sequence, e);
    this.vider();
  }

  private vider(): void {
    const vue = this.combat();
    if (!vue) return;
    let n = 0;
    for (let e = this.tampon.get(vue.appliques + 1); e; e = this.tampon.get(vue.appliques + 1)) {
      this.tampon.delete(vue.appliques + 1);
      vue.appliquer(e.type, e.donnees, vue.appliques + 1);
      n++;
    }
    for (const s of [...this.tampon.keys()]) if (s <= vue.appliques) this.tampon.delete(s);
    if (n) this.combat.set(vue);
    clearTimeout(this.resync);
    if (this.tampon.size) this.resync = setTimeout(() => this.chargerCombat(vue.id).catch(() => {}), 1000);
  }

  private noterCombat(id: string): void {
    if (!this.combatsConnus().includes(id)) this.combatsConnus.update((l) => [id, ...l]);
  }

  // ------------------------------------------------------------------ quests

  async rafraichirJournal(): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    const r = await this.rpc.appel<{ quetes: LigneQuete[] }>('quete.journal', { joueur_id: p.joueur_id });
    const j: Record<string, LigneQuete> = {};
    for (const q of r.quetes) j[q.quete] = q;
    this.journal.update((avant) => {
      // A pushed progress may be newer than the read model: keep the furthest.
      for (const [k, v] of Object.entries(avant)) {
        if (!j[k] || (j[k].statut === v.statut && v.progression > j[k].progression)) j[k] = v;
      }
      return j;
    });
  }

  async accepterQuete(quete: string): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    await this.tenter(() => this.rpc.commande('quete.accepter', { joueur_id: p.joueur_id, quete }));
  }

  async abandonnerQuete(quete: string): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    await this.tenter(() => this.rpc.commande('quete.abandonner', { joueur_id: p.joueur_id, quete }));
  }

  // ------------------------------------------------------------------ inventory

  async rafraichirInventaire(): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    const r = await this.lireQuand<any>('inventaire.consulter', { joueur_id: p.joueur_id }, () => true);
    if (r.version >= this.inventaire().version) this.inventaire.set({ or: r.or_total, items: r.items, version: r.version });
  }

  async acheter(marchand: string, item: string, quantite = 1): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    const r = await this.tenter(() => this.rpc.commande('inventaire.acheter', { joueur_id: p.joueur_id, marchand, item, quantite }));
    if (r) this.signaler(`Acheté : ${quantite} × ${nomItem(item)}.`, 'gain');
  }

  async vendre(marchand: string, item: string, quantite = 1): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    const r = await this.tenter(() => this.rpc.commande('inventaire.vendre', { joueur_id: p.joueur_id, marchand, item, quantite }));
    if (r) this.signaler(`Vendu : ${quantite} × ${nomItem(item)}.`, 'gain');
  }

  async fabriquer(recette: string): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    const r = await this.tenter(() => this.rpc.commande('inventaire.fabriquer', { joueur_id: p.joueur_id, recette }));
    if (r) this.signaler(`Fabriqué : ${CATALOGUE.recettes[recette]?.nom ?? recette}.`, 'gain');
  }

  // ------------------------------------------------------------------ trade

  async proposerEchange(destinataire: string, offre: Offre): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    const r = await this.tenter(() => this.rpc.commande<{ echange_id: string }>('echange.proposer', { joueur_id: p.joueur_id, destinataire, offre }));
    if (r) this.signaler('Échange proposé.', 'info');
  }

  async modifierOffre(echangeId: string, offre: Offre): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    await this.tenter(() => this.rpc.commande('echange.modifier', { joueur_id: p.joueur_id, echange_id: echangeId, offre }));
  }

  async accepterEchange(echangeId: string): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    await this.tenter(() => this.rpc.commande('echange.accepter', { joueur_id: p.joueur_id, echange_id: echangeId }));
  }

  async annulerEchange(echangeId: string): Promise<void> {
    const p = this.personnage();
    if (!p) return;
    await this.tenter(() => this.rpc.commande('echange.annuler', { joueur_id: p.joueur_id, echange_id: echangeId }));
  }

  nomDe(joueurId: string): string {
    if (joueurId === this.personnage()?.joueur_id) return this.personnage()!.nom;
    return this.presents().find((p) => p.joueur_id === joueurId)?.nom
      ?? this.combat()?.participant(joueurId)?.nom
      ?? this.noms.get(joueurId)
      ?? joueurId.slice(0, 8);
  }
  private readonly noms = new Map<string, string>();

  // ------------------------------------------------------------------ audit

  historique(combatId: string) {
    return this.rpc.appel<any>('combat.historique', { combat_id: combatId });
  }

  grandLivre(apres = 0) {
    const p = this.personnage();
    return this.rpc.appel<any>('economie.grand_livre', { joueur_id: p?.joueur_id, apres, limite: 100 });
  }

  // ------------------------------------------------------------------ pushed events

  private surEvenement(e: EvenementPousse): void {
    const p = this.personnage();
    if (!p) return;
    const d = e.donnees;
    switch (e.agregat) {
      case 'Joueur':
        if (e.id !== p.joueur_id || e.sequence <= p.version) return;
        this.surJoueur(p, e);
        break;
      case 'Inventaire':
        if (e.id !== p.joueur_id) return;
        this.surInventaire(e);
        break;
      case 'Quete': {
        const [jid, quete] = e.id.split(':');
        if (jid !== p.joueur_id) return;
        this.journal.update((j) => {
          const l = { ...(j[quete] ?? { quete, statut: 'en_cours', progression: 0, requis: 1 }) } as LigneQuete;
          if (e.type === 'QueteAcceptee') Object.assign(l, { statut: 'en_cours', progression: 0, requis: d.requis });
          if (e.type === 'QueteProgressee') Object.assign(l, { progression: d.progression, requis: d.requis });
          if (e.type === 'QueteTerminee') { l.statut = 'terminee'; l.progression = l.requis; }
          if (e.type === 'QueteAbandonnee') l.statut = 'abandonnee';
          return { ...j, [quete]: l };
        });
        if (e.type === 'QueteTerminee') this.signaler(`Quête accomplie : ${CATALOGUE.quetes[quete]?.nom ?? quete} !`, 'gain');
        if (e.type === 'QueteAcceptee') this.signaler(`Quête acceptée : ${CATALOGUE.quetes[quete]?.nom ?? quete}.`, 'info');
        break;
      }
      case 'Combat': {
        const vue = this.combat();
        if (vue && vue.id === e.id) {
          if (e.sequence > vue.appliques) { this.tampon.set(e.sequence, e); this.vider(); }
        } else if (e.type === 'CombatPrepare' || e.type === 'CombattantRejoint') {
          this.chargerCombat(e.id).catch(() => {});
        }
        break;
      }
      case 'Echange':
        this.surEchange(p, e);
        break;
    }
  }

  private surJoueur(p: Profil, e: EvenementPousse): void {
    const d = e.donnees;
    const n = { ...p, version: e.sequence };
    switch (e.type) {
      case 'XpGagnee':
        n.xp = d.xp_totale;
        this.signaler(`+${d.xp} XP`, 'gain');
        break;
      case 'NiveauAtteint':
        Object.assign(n, { niveau: d.niveau, ...d.stats });
        this.signaler(`Niveau ${d.niveau} atteint !`, 'gain');
        break;
      case 'EntreEnCombat':
        n.combat_id = d.combat_id;
        this.noterCombat(d.combat_id);
        break;
      case 'SortiDuCombat':
        n.combat_id = null;
        break;
    }
    this.personnage.set(n);
  }

  private surInventaire(e: EvenementPousse): void {
    const inv = this.inventaire();
    if (e.sequence <= inv.version) return;
    const d = e.donnees;
    const n = { or: inv.or, items: { ...inv.items }, version: e.sequence };
    switch (e.type) {
      case 'OrCredite':
      case 'OrDebite':
        n.or = d.solde;
        if (e.type === 'OrCredite' && d.cause?.type === 'butin') this.signaler(`Butin : ${d.montant} po`, 'gain');
        break;
      case 'ItemAjoute':
      case 'ItemRetire':
        if (d.total > 0) n.items[d.item] = d.total; else delete n.items[d.item];
        if (e.type === 'ItemAjoute' && d.cause?.type === 'butin') this.signaler(`Butin : ${d.quantite} × ${nomItem(d.item)}`, 'gain');
        break;
    }
    // A game master's correction (cause `mj`, §4.10): said to the player, with its reason.
    if (d.cause?.type === 'mj') {
      const quoi = e.type.startsWith('Or') ? `${d.montant} po` : `${d.quantite} × ${nomItem(d.item)}`;
      const sens = e.type === 'OrCredite' || e.type === 'ItemAjoute' ? 'vous a donné' : 'vous a retiré';
      this.signaler(`Un maître du jeu ${sens} ${quoi} (${d.cause.raison}).`, 'gain');
    }
    this.inventaire.set(n);
  }

  private surEchange(p: Profil, e: EvenementPousse): void {
    const d = e.donnees;
    const tous = this.echanges();
    let x = tous[e.id];
    if (e.type === 'EchangePropose') {
      if (d.proposant !== p.joueur_id && d.destinataire !== p.joueur_id) return;
      x = { id: e.id, proposant: d.proposant, destinataire: d.destinataire, offres: { [d.proposant]: norm(d.offre), [d.destinataire]: { or: 0, items: {} } }, acceptes: [], statut: 'ouvert', appliques: e.sequence, echeance: d.echeance };
      if (d.destinataire === p.joueur_id) this.signaler(`${this.nomDe(d.proposant)} vous propose un échange.`, 'info');
    } else {
      if (!x || e.sequence <= x.appliques) return;
      x.appliques = e.sequence;
      if (e.type === 'OffreModifiee') { x.offres[d.joueur_id] = norm(d.offre); x.acceptes = []; }
      if (e.type === 'EchangeAccepte') x.acceptes = [...new Set([...x.acceptes, d.joueur_id])];
      if (e.type === 'EchangeConclu') { x.statut = 'conclu'; this.signaler('Échange conclu !', 'gain'); }
      if (e.type === 'EchangeAnnule') { x.statut = 'annule'; this.signaler('Échange annulé.', 'info'); }
      if (e.type === 'EchangeExpire') { x.statut = 'expire'; this.signaler('Échange expiré : personne ne l’a conclu à temps.', 'info'); }
    }
    this.echanges.set({ ...tous, [e.id]: x });
  }

  /** A read from the read models, retried while it does not show what was just written. */
  private async lireQuand<T>(methode: string, params: object, pret: (r: T) => boolean, essais = 30): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        const r = await this.rpc.appel<T>(methode, params);
        if (pret(r) || i >= essais) return r;
      } catch (e) {
        // Just written, not projected yet: the combat unknown, or its history not yet open to
        // a participant who joined a moment ago (§3.8).
        const attendre = e instanceof ErreurJeu && (e.code === 'INTROUVABLE' || (e.code === 'INTERDIT' && methode === 'combat.historique'));
        if (!attendre || i >= essais) throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function clamp(v: number, a: number, b: number) { return Math.max(a, Math.min(b, v)); }
function round(v: number) { return Math.round(v * 100) / 100; }
function norm(o: any): Offre { return { or: o?.or ?? 0, items: { ...(o?.items ?? {}) } }; }
function fusionner(a: MessageChat[], b: MessageChat[]): MessageChat[] {
  const vus = new Set(a.map((m) => m.id));
  const r = [...a, ...b.filter((m) => !vus.has(m.id))];
  r.sort((x, y) => (x.horodatage < y.horodatage ? -1 : x.horodatage > y.horodatage ? 1 : 0));
  return r.slice(-200);
}
