// The game's static data, generated from domain/catalogue.toml at build time
// (scripts/catalogue.mjs), typed for the screens.
import brut from './catalogue.json';

export type Classe = 'Tank' | 'DPS' | 'Heal';
export const CLASSES: Classe[] = ['Tank', 'DPS', 'Heal'];

export interface Point { x: number; y: number; }
export interface Croissance { base: number; par_niveau: number; }
export interface DefClasse {
  description: string;
  pv: Croissance; attaque: Croissance; defense: Croissance; soin: Croissance;
  menace_pct: number; critique_pct: number;
}
export interface Portail { vers: string; position: Point; arrivee?: Point; niveau_min: number; }
export interface DefZone { nom: string; largeur: number; hauteur: number; donjon?: boolean; depart: Point; portails: Portail[]; }
export interface DefMonstre { nom: string; niveau: number; pv: number; attaque: number; defense: number; xp: number; boss?: boolean; }
export interface DefRencontre { nom: string; zone: string; niveau: number; monstres: string[]; }
export interface DefItem { nom: string; genre: string; pile_max: number; }
export interface LigneItem { item: string; quantite: number; }
export interface DefRecette { nom: string; ingredients: LigneItem[]; produit: LigneItem; cout?: number; }
export interface Article { item: string; prix_vente?: number; prix_rachat?: number; }
export interface DefMarchand { nom: string; zone: string; articles: Article[]; }
export interface Recompense { xp?: number; or?: number; items?: LigneItem[]; }
export interface DefQuete {
  nom: string; description: string; niveau_min: number; prerequis?: string[];
  objectif: { type: string; monstre?: string; classe?: string; item?: string; nombre?: number; niveau?: number };
  recompense: Recompense;
}

export interface Catalogue {
  regles: { niveau_max: number; capacite_inventaire: number; zone_depart: string; duree_tour_secondes: number; personnages_par_compte: number; cellule_interet: number };
  classes: Record<Classe, DefClasse>;
  deplacement: { vitesse_max: number; rafale_ms: number; gigue_ms: number; rayon_portail: number };
  progression: { xp_cumulee: number[] };
  monstres: Record<string, DefMonstre>;
  zones: Record<string, DefZone>;
  rencontres: Record<string, DefRencontre>;
  items: Record<string, DefItem>;
  recettes: Record<string, DefRecette>;
  marchands: Record<string, DefMarchand>;
  quetes: Record<string, DefQuete>;
}

export const CATALOGUE = brut as unknown as Catalogue;

/** A class's stats at a level: base + par_niveau × (niveau − 1). */
export function statsDe(classe: Classe, niveau = 1) {
  const c = CATALOGUE.classes[classe];
  const n = (g: Croissance) => g.base + g.par_niveau * (niveau - 1);
  return { pv_max: n(c.pv), attaque: n(c.attaque), defense: n(c.defense), soin: n(c.soin) };
}

/** The item's display name (its code when the catalog does not know it). */
export function nomItem(code: string): string {
  return CATALOGUE.items[code]?.nom ?? code;
}

export function nomZone(code: string): string {
  return CATALOGUE.zones[code]?.nom ?? code;
}

/** XP needed for the level after `niveau` (null at the cap), and the floor of this one. */
export function paliersXp(niveau: number): { bas: number; haut: number | null } {
  const xs = CATALOGUE.progression.xp_cumulee;
  const bas = niveau >= 2 ? xs[niveau - 2] : 0;
  const haut = niveau - 1 < xs.length ? xs[niveau - 1] : null;
  return { bas, haut };
}

export function objectifTexte(q: DefQuete): string {
  const o = q.objectif;
  switch (o.type) {
    case 'vaincre': return `Vaincre ${o.nombre} × ${CATALOGUE.monstres[o.monstre!]?.nom ?? o.monstre}`;
    case 'gagner_combat': return `Gagner ${o.nombre} combat${(o.nombre ?? 1) > 1 ? 's' : ''} en ${o.classe}`;
    case 'fabriquer': return `Fabriquer ${o.nombre} × ${nomItem(o.item!)}`;
    case 'atteindre_niveau': return `Atteindre le niveau ${o.niveau}`;
    default: return o.type;
  }
}

export function recompenseTexte(r: Recompense): string {
  const parts: string[] = [];
  if (r.xp) parts.push(`${r.xp} XP`);
  if (r.or) parts.push(`${r.or} po`);
  for (const i of r.items ?? []) parts.push(`${i.quantite} × ${nomItem(i.item)}`);
  return parts.join(' · ') || '—';
}

const GLYPHES_GENRE: Record<string, string> = { consommable: '⚗', materiau: '◆', arme: '⚔', armure: '♜', tresor: '♛' };
const GLYPHES_ITEM: Record<string, string> = {
  peau_de_loup: '☗', croc_de_loup: '✦', os_ancien: '☠', minerai_de_fer: '⬢', lingot_de_fer: '▬',
  bois_de_chene: '☘', herbe_medicinale: '☘', soie_d_araignee: '❖', plume_de_harpie: '✧',
  amulette_de_la_liche: '⚜', corne_de_troll: '✪', pain: '❂', viande_de_sanglier: '♨',
  defense_de_sanglier: '✧', cuir_tanne: '☗',
};

/** A glyph for an item's slot (fonts every Linux has: DejaVu). */
export function glypheItem(code: string): string {
  return GLYPHES_ITEM[code] ?? GLYPHES_GENRE[CATALOGUE.items[code]?.genre ?? ''] ?? '◆';
}
