// The chronicles (audit): a combat's event history, and the economy ledger of the character.
import { Component, OnInit, computed, inject, signal } from '@angular/core';
import { CATALOGUE, nomItem } from '../donnees/catalogue';
import { JeuService } from '../noyau/jeu.service';

const CAUSES: Record<string, string> = {
  kit_de_depart: 'Kit de départ', butin: 'Butin', recompense_quete: 'Récompense de quête', fabrication: 'Fabrication',
  achat: 'Achat', vente: 'Vente', destruction: 'Destruction', echange: 'Échange',
};

@Component({
  selector: 'app-audit',
  template: `
  <div class="audit">
    <section class="carte">
      <h2>Histoire d’un combat</h2>
      <div class="choix-combat">
        @for (id of combats(); track id) {
          <button class="bouton petit" [class.actif]="combatChoisi() === id" (click)="voir(id)" data-testid="voir-combat">Combat {{ id.slice(0, 8) }}</button>
        } @empty { <span class="vide">Aucun combat pour ce personnage pour l’instant.</span> }
      </div>
      @if (historique().length) {
        <div class="defile">
        <table class="table-audit" data-testid="historique">
          <tr><th>#</th><th>Événement</th><th>Détail</th><th>Heure</th><th>Corrélation</th></tr>
          @for (e of historique(); track e.sequence) {
            <tr><td>{{ e.sequence }}</td><td><code>{{ e.type }}</code></td><td>{{ detail(e) }}</td><td>{{ heure(e.horodatage) }}</td><td><code>{{ e.correlation_id?.slice(0, 8) }}</code></td></tr>
          }
        </table>
        </div>
      }
    </section>
    <section class="carte">
      <h2>Grand livre <button class="bouton petit" (click)="chargerLivre()" data-testid="recharger-livre">Actualiser</button></h2>
      <div class="defile">
      <table class="table-audit" data-testid="grand-livre">
        <tr><th>#</th><th>Ressource</th><th>Mouvement</th><th>Solde</th><th>Cause</th><th>Heure</th></tr>
        @for (m of livre(); track $index) {
          <tr [attr.data-cause]="m.cause" [attr.data-ressource]="m.ressource">
            <td>{{ m.sequence }}</td>
            <td>{{ m.ressource === 'or' ? 'Or' : nom(m.ressource) }}</td>
            <td [class]="m.delta > 0 ? 'plus' : 'moins'">{{ m.delta > 0 ? '+' : '' }}{{ m.delta }}</td>
            <td>{{ m.solde_apres }}</td>
            <td>{{ cause(m) }}</td>
            <td>{{ heure(m.horodatage) }}</td>
          </tr>
        }
      </table>
      </div>
      @if (suite()) { <button class="bouton petit" (click)="chargerLivre(true)">Plus ancien…</button> }
    </section>
  </div>`,
})
export class EcranAudit implements OnInit {
  readonly jeu = inject(JeuService);
  readonly combatChoisi = signal<string | null>(null);
  readonly historique = signal<any[]>([]);
  readonly livre = signal<any[]>([]);
  readonly suite = signal(false);

  /** The combats seen live, and those the ledger shows loot from (they survive a reload). */
  readonly combats = computed(() => {
    const ids = [...this.jeu.combatsConnus()];
    for (const m of [...this.livre()].reverse()) {
      const id = m.detail?.combat_id;
      if (m.cause === 'butin' && id && !ids.includes(id)) ids.push(id);
    }
    return ids;
  });

  async ngOnInit(): Promise<void> {
    await this.chargerLivre();
    const c = this.combats()[0];
    if (c) await this.voir(c);
  }

  async voir(id: string): Promise<void> {
    this.combatChoisi.set(id);
    const r = await this.jeu.tenter(() => this.jeu.historique(id));
    if (r) this.historique.set(r.evenements);
  }

  async chargerLivre(plus = false): Promise<void> {
    const apres = plus ? Math.max(0, ...this.livre().map((m) => m.sequence)) : 0;
    const r = await this.jeu.tenter(() => this.jeu.grandLivre(apres));
    if (!r) return;
    const lignes = plus ? [...this.livre(), ...r.mouvements] : r.mouvements;
    this.livre.set(lignes);
    this.suite.set(r.mouvements.length >= 100);
  }

  nom(c: string) { return nomItem(c); }
  cause(m: any): string {
    const d = m.detail ?? {};
    const base = CAUSES[m.cause] ?? m.cause;
    switch (m.cause) {
      case 'achat': case 'vente': return `${base} — ${CATALOGUE.marchands[d.marchand]?.nom ?? d.marchand}`;
      case 'fabrication': return `${base} — ${CATALOGUE.recettes[d.recette]?.nom ?? d.recette}`;
      case 'recompense_quete': return `${base} — ${CATALOGUE.quetes[d.quete]?.nom ?? d.quete}`;
      case 'echange': return `${base} avec ${this.jeu.nomDe(d.avec)}`;
      case 'butin': return `${base} — combat ${String(d.combat_id).slice(0, 8)}`;
      default: return base;
    }
  }
  heure(h: string) { return new Date(h).toLocaleTimeString('fr-FR'); }

  detail(e: any): string {
    const d = e.donnees ?? {};
    const prepare = this.historique()[0]?.donnees;
    const noms = new Map<string, string>();
    for (const h of this.historique()) {
      const c = h.donnees?.initiateur ?? h.donnees?.combattant;
      if (c) noms.set(c.joueur_id, c.nom);
    }
    const nom = (id: string) => noms.get(id) ?? this.jeu.nomDe(id);
    const monstre = (i: number) => `${prepare?.monstres?.[i]?.nom ?? 'monstre'} n°${i + 1}`;
    switch (e.type) {
      case 'CombatPrepare': return `${d.initiateur?.nom} contre ${d.monstres?.map((m: any) => m.nom).join(', ')}`;
      case 'CombattantRejoint': return `${d.combattant?.nom} (${d.combattant?.classe})`;
      case 'TourCommence': return `tour ${d.tour}`;
      case 'AttaquePortee': return `${nom(d.joueur_id)} frappe ${monstre(d.monstre)} : ${d.degats} dégâts${d.critique ? ' (critique)' : ''}, il lui reste ${d.pv_restants} PV`;
      case 'SoinProdigue': return `${nom(d.joueur_id)} soigne ${nom(d.cible)} : +${d.montant} PV`;
      case 'ProvocationLancee': return `${nom(d.joueur_id)} provoque`;
      case 'DefensePrise': return `${nom(d.joueur_id)} se défend`;
      case 'MonstreVaincu': return `${monstre(d.monstre)} est vaincu`;
      case 'MonstreAttaque': return `${monstre(d.monstre)} frappe ${nom(d.cible)} : ${d.degats} dégâts, il lui reste ${d.pv_restants} PV`;
      case 'CombattantKo': return `${nom(d.joueur_id)} KO`;
      case 'CombatTermine': return `${d.issue === 'victoire' ? 'Victoire' : 'Défaite'} en ${d.tours} tours`;
      case 'CombatLance': return `le groupe de ${d.participants?.length ?? '?'} entre en combat`;
      default: return '';
    }
  }
}
