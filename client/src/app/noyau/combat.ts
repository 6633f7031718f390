// A combat as the client folds it from its events, in sequence order (the same rules as the
// aggregate's `apply`, domain/src/combat/mod.rs): HP, threat, who has acted, the log.
import { Classe, CATALOGUE } from '../donnees/catalogue';

export interface Combattant {
  joueur_id: string; nom: string; classe: Classe; niveau: number;
  stats: { pv_max: number; attaque: number; defense: number; soin: number };
}
export interface Participant extends Combattant { pv: number; a_agi: boolean; defend: boolean; menace: number[]; }
export interface Monstre { code: string; nom: string; pv_max: number; pv: number; attaque: number; defense: number; }
export interface Part { joueur_id: string; xp: number; or: number; items: { item: string; quantite: number }[]; }
export interface LigneJournal { sequence: number; tour: number; texte: string; genre: string; }

export type Phase = 'preparation' | 'en_cours' | 'victoire' | 'defaite' | 'annule';

export class VueCombat {
  rencontre = '';
  zone = '';
  initiateur = '';
  phase: Phase = 'preparation';
  tour = 0;
  echeance: string | null = null;
  participants: Participant[] = [];
  monstres: Monstre[] = [];
  recompenses: Part[] = [];
  journal: LigneJournal[] = [];
  appliques = 0;

  constructor(readonly id: string) {}

  get nomRencontre(): string {
    return CATALOGUE.rencontres[this.rencontre]?.nom ?? this.rencontre;
  }

  participant(id: string): Participant | undefined {
    return this.participants.find((p) => p.joueur_id === id);
  }

  /** The index of the participant a monster hits: the highest threat among those standing. */
  cibleDu(monstre: number): string | null {
    let meilleur: Participant | null = null;
    for (const p of this.participants) {
      if (p.pv <= 0) continue;
      if (!meilleur || (p.menace[monstre] ?? 0) > (meilleur.menace[monstre] ?? 0)) meilleur = p;
    }
    return meilleur?.joueur_id ?? null;
  }

  private nom(id: string): string {
    return this.participant(id)?.nom ?? 'quelqu’un';
  }

  private nomMonstre(i: number): string {
    const m = this.monstres[i];
    return m ? `${m.nom} n°${i + 1}` : `le monstre n°${i + 1}`;
  }

  private ecrire(sequence: number, texte: string, genre: string): void {
    this.journal.push({ sequence, tour: this.tour, texte, genre });
  }

  /** Applies the event of sequence `appliques + 1`. */
  appliquer(type: string, d: any, sequence: number): void {
    this.appliques = sequence;
    switch (type) {
      case 'CombatPrepare':
        this.rencontre = d.rencontre;
        this.zone = d.zone;
        this.initiateur = d.initiateur.joueur_id;
        this.monstres = d.monstres.map((m: any) => ({ code: m.code, nom: m.nom, pv_max: m.pv_max, pv: m.pv_max, attaque: m.attaque, defense: m.defense }));
        this.rejoindre(d.initiateur);
        this.ecrire(sequence, `${d.initiateur.nom} prépare le combat : ${this.nomRencontre}.`, 'systeme');
        break;
      case 'CombattantRejoint':
        this.rejoindre(d.combattant);
        this.ecrire(sequence, `${d.combattant.nom} (${d.combattant.classe}) rejoint le groupe.`, 'systeme');
        break;
      case 'CombattantParti':
        this.ecrire(sequence, `${this.nom(d.joueur_id)} quitte le groupe.`, 'systeme');
        this.participants = this.participants.filter((p) => p.joueur_id !== d.joueur_id);
        break;
      case 'CombatAnnule':
        this.phase = 'annule';
        this.ecrire(sequence, 'Le combat est annulé.', 'systeme');
        break;
      case 'CombatLance':
        this.phase = 'en_cours';
        this.ecrire(sequence, 'Le combat commence !', 'systeme');
        break;
      case 'TourCommence':
        this.phase = 'en_cours';
        this.tour = d.tour;
        this.echeance = d.echeance;
        for (const p of this.participants) { p.a_agi = false; p.defend = false; }
        this.ecrire(sequence, `— Tour ${d.tour} —`, 'tour');
        break;
      case 'AttaquePortee': {
        const p = this.agi(d.joueur_id);
        if (p) p.menace[d.monstre] = d.menace;
        const m = this.monstres[d.monstre];
        if (m) m.pv = d.pv_restants;
        this.ecrire(sequence, `${this.nom(d.joueur_id)} frappe ${this.nomMonstre(d.monstre)} : ${d.degats} dégâts${d.critique ? ' (critique !)' : ''}.`, d.critique ? 'critique' : 'attaque');
        break;
      }
      case 'SoinProdigue': {
        const p = this.agi(d.joueur_id);
        if (p) p.menace = [...d.menace];
        const c = this.participant(d.cible);
        if (c) c.pv = d.pv_apres;
        this.ecrire(sequence, `${this.nom(d.joueur_id)} soigne ${this.nom(d.cible)} : +${d.montant} PV.`, 'soin');
        break;
      }
      case 'ProvocationLancee': {
        const p = this.agi(d.joueur_id);
        if (p) p.menace = [...d.menace];
        this.ecrire(sequence, `${this.nom(d.joueur_id)} provoque les monstres et attire leur colère.`, 'provocation');
        break;
      }
      case 'DefensePrise': {
        const p = this.agi(d.joueur_id);
        if (p) p.defend = true;
        this.ecrire(sequence, `${this.nom(d.joueur_id)} se met en garde.`, 'defense');
        break;
      }
      case 'MonstreVaincu': {
        const m = this.monstres[d.monstre];
        if (m) m.pv = 0;
        this.ecrire(sequence, `${this.nomMonstre(d.monstre)} est vaincu !`, 'victoire');
        break;
      }
      case 'MonstreAttaque': {
        const c = this.participant(d.cible);
        if (c) c.pv = d.pv_restants;
        this.ecrire(sequence, `${this.nomMonstre(d.monstre)} ${d.frappe_de_zone ? 'déchaîne une frappe de zone sur' : 'frappe'} ${this.nom(d.cible)} : ${d.degats} dégâts.`, 'monstre');
        break;
      }
      case 'CombattantKo': {
        const c = this.participant(d.joueur_id);
        if (c) c.pv = 0;
        this.ecrire(sequence, `${this.nom(d.joueur_id)} est KO !`, 'ko');
        break;
      }
      case 'CombatTermine':
        this.phase = d.issue === 'victoire' ? 'victoire' : 'defaite';
        this.recompenses = (d.recompenses ?? []).map((r: any) => ({ joueur_id: r.joueur_id, xp: r.xp ?? 0, or: r.or ?? 0, items: r.items ?? [] }));
        this.ecrire(sequence, d.issue === 'victoire' ? `Victoire en ${d.tours} tours !` : `Défaite après ${d.tours} tours…`, d.issue === 'victoire' ? 'victoire' : 'ko');
        break;
    }
  }

  private rejoindre(c: any): void {
    if (this.participant(c.joueur_id)) return;
    this.participants.push({
      joueur_id: c.joueur_id, nom: c.nom, classe: c.classe, niveau: c.niveau, stats: c.stats,
      pv: c.stats.pv_max, a_agi: false, defend: false, menace: this.monstres.map(() => 0),
    });
  }

  private agi(id: string): Participant | undefined {
    const p = this.participant(id);
    if (p) p.a_agi = true;
    return p;
  }
}
