// The game master's console as the client sees it: the `mj.*` reads (find, file, timeline,
// state at an event, difference: doc/protocole.md §4.9) and the actions (§4.10), typed, over
// the one socket. The server checks the admin role at every call (from the accounts table,
// not only the token): a refusal becomes the console's error sentence.
import { Injectable, inject, signal } from '@angular/core';
import { CATALOGUE } from '../donnees/catalogue';
import { ErreurJeu, enErreurJeu } from './erreurs';
import { RpcService } from './rpc.service';

export interface PersonnageTrouve { joueur_id: string; nom: string; classe?: string | null; niveau?: number | null; }
export interface CompteTrouve { compte_id: string; login: string; cree_le: string; personnages: PersonnageTrouve[]; }
export interface PageComptes { comptes: CompteTrouve[]; suite?: string | null; }

export interface EvenementChronologie {
  curseur: string; event_id: string; aggregate_type: string; aggregate_id: string; sequence: number;
  event_type: string; event_version: string; payload: any; recorded_at: string;
  id_commande: string | null; correlation_id: string | null; causation_id: string | null;
  compte_id: string | null; reaction: boolean;
}
export interface PageChronologie { evenements: EvenementChronologie[]; curseur: string | null; fin: boolean; }
/** Whose timeline: a whole account, or one character. */
export type Sujet = { compte_id: string } | { joueur_id: string };

export interface EtatAgregat { sequence: number; longueur: number; etat: any; }
export interface Changement { genre: 'ajoute' | 'retire' | 'modifie'; chemin: string; avant?: unknown; apres?: unknown; }
export interface Differences { de: number; a: number; changements: Changement[]; }
/** An aggregate and one of its events: what time travel looks at. */
export interface PointDuTemps { aggregate_type: string; aggregate_id: string; sequence: number; }

export interface Bannissement { compte_id: string; jusqu_a: string | null; raison: string; }
export interface EntreeDossier { sequence: number; type: string; donnees: any; par: string; horodatage: string; }
export interface Dossier { compte_id: string; login: string; bannissement: Bannissement | null; entrees: EntreeDossier[]; }

export interface Signalement {
  signalement_id: string; numero: number; auteur_compte_id: string; auteur_joueur_id: string; auteur_nom: string;
  cible_compte_id: string; cible_joueur_id: string; cible_nom: string; raison: string; cree_le: string;
  traite_le: string | null; traite_par: string | null; note: string | null;
}
export interface PageSignalements { signalements: Signalement[]; suivant: number | null; }
export type EtatSignalements = 'ouverts' | 'traites' | 'tous';

export interface LigneItem { item: string; quantite: number; }

@Injectable({ providedIn: 'root' })
export class ConsoleService {
  private readonly rpc = inject(RpcService);

  /** The last refusal, as a sentence (shown above every console screen). */
  readonly erreur = signal<string | null>(null);
  /** Logins of the accounts met so far, by id: the timeline names its authors with them. */
  private readonly logins = new Map<string, string>();
  /** Names of the characters met so far, by id: the timeline names its aggregates with them. */
  private readonly noms = new Map<string, string>();

  /** Runs a call; a refusal becomes the console's sentence. The result, or undefined. */
  async tenter<T>(f: () => Promise<T>): Promise<T | undefined> {
    this.erreur.set(null);
    try {
      return await f();
    } catch (x) {
      const e = enErreurJeu(x);
      console.warn(`[${e.code}] ${e.detail}`);
      this.erreur.set(phrase(e));
      return undefined;
    }
  }

  loginDe(compteId: string): string | undefined { return this.logins.get(compteId); }
  noter(compteId: string, login: string): void { this.logins.set(compteId, login); }

  /** An aggregate as a person reads it: « Inventaire de Rowena », « Dossier de rowena »… */
  nomAgregat(type: string, id: string): string {
    const nom = (j: string) => this.noms.get(j) ?? j.slice(0, 8);
    switch (type) {
      case 'Joueur': return `Personnage ${nom(id)}`;
      case 'Inventaire': return `Inventaire de ${nom(id)}`;
      case 'Quete': {
        const [j, q] = id.split(':');
        return `Quête « ${CATALOGUE.quetes[q]?.nom ?? q} » de ${nom(j)}`;
      }
      case 'Moderation': return `Dossier de ${this.logins.get(id) ?? id.slice(0, 8)}`;
      case 'Combat': return `Combat ${id.slice(0, 8)}`;
      case 'Echange': return `Échange ${id.slice(0, 8)}`;
      default: return `${type} ${id.slice(0, 8)}`;
    }
  }

  /** Who wrote an event: its account's login, or the system (a process manager). */
  auteur(compteId: string | null): string {
    return compteId === null ? 'système' : this.logins.get(compteId) ?? compteId.slice(0, 8);
  }

  // ------------------------------------------------------------------ reads (§4.9)

  async chercher(texte: string, apres?: string): Promise<PageComptes> {
    const r = await this.rpc.appel<PageComptes>('mj.chercher', { texte, ...(apres ? { apres } : {}) });
    for (const c of r.comptes) {
      this.noter(c.compte_id, c.login);
      for (const p of c.personnages) this.noms.set(p.joueur_id, p.nom);
    }
    return r;
  }

  /** The account's characters (`mj.chercher` by its login, the one whose id it is). */
  async personnagesDe(compteId: string, login: string): Promise<PersonnageTrouve[]> {
    let apres: string | undefined;
    for (let page = 0; page < 20; page++) {
      const r = await this.chercher(login, apres);
      const c = r.comptes.find((x) => x.compte_id === compteId);
      if (c) return c.personnages;
      if (!r.suite) break;
      apres = r.suite;
    }
    return [];
  }

  async dossier(compteId: string): Promise<Dossier> {
    const d = await this.rpc.appel<Dossier>('mj.dossier', { compte_id: compteId });
    this.noter(d.compte_id, d.login);
    return d;
  }

  chronologie(sujet: Sujet, curseur: string | null, limite = 50): Promise<PageChronologie> {
    return this.rpc.appel('mj.chronologie', { ...sujet, ...(curseur ? { curseur } : {}), limite });
  }

  etatA(p: PointDuTemps): Promise<EtatAgregat> {
    return this.rpc.appel('mj.etat_a', p);
  }

  difference(aggregate_type: string, aggregate_id: string, de: number, a: number): Promise<Differences> {
    return this.rpc.appel('mj.difference', { aggregate_type, aggregate_id, de, a });
  }

  // ------------------------------------------------------------------ actions (§4.10)

  bannir(compte_id: string, raison: string, duree_s: number | null): Promise<Bannissement> {
    return this.rpc.appel('mj.bannir', { compte_id, raison, ...(duree_s ? { duree_s } : {}) });
  }

  retablir(compte_id: string, raison: string): Promise<unknown> {
    return this.rpc.appel('mj.retablir', { compte_id, raison });
  }

  expulser(compte_id: string, raison: string): Promise<unknown> {
    return this.rpc.appel('mj.expulser', { compte_id, raison });
  }

  museler(joueur_id: string, duree_s: number, raison: string): Promise<unknown> {
    return this.rpc.appel('chat.museler', { joueur_id, duree_s, raison });
  }

  /** A grant or a removal: one command id, reused if the connection drops (§3.4). */
  corriger(sens: 'donner' | 'retirer', joueur_id: string, or: number, items: LigneItem[], raison: string): Promise<unknown> {
    return this.rpc.commande(`mj.${sens}`, { joueur_id, raison, ...(or > 0 ? { or } : {}), ...(items.length ? { items } : {}) });
  }

  deplacer(joueur_id: string, zone: string, x: number, y: number, raison: string): Promise<unknown> {
    return this.rpc.appel('mj.deplacer', { joueur_id, zone, x, y, raison });
  }

  signalements(etat: EtatSignalements, apres?: number): Promise<PageSignalements> {
    return this.rpc.appel('mj.signalements', { etat, ...(apres ? { apres } : {}) });
  }

  traiter(signalement_id: string, note: string): Promise<Signalement> {
    return this.rpc.appel('mj.traiter_signalement', { signalement_id, note });
  }
}

/** A refusal in the console: the role's own sentence for `INTERDIT`, else the game's. */
function phrase(e: ErreurJeu): string {
  if (e.code === 'INTERDIT') return 'Refusé par le serveur : ce compte n’est pas (ou plus) maître du jeu.';
  return e.humain;
}
