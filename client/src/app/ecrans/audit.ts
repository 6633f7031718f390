// The chronicles (audit): a combat's event history, and the economy ledger of the character.
import { Component, OnInit, inject, signal } from '@angular/core';
import { nomItem } from '../donnees/catalogue';
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
        @for (id of jeu.combatsConnus(); track id) {
          <button class="bouton petit" [class.actif]="combatChoisi() === id" (click)="voir(id)" data-testid="voir-combat">Combat {{ id.slice(0, 8) }}</button>
        } @empty { <span class="vide">Aucun combat pour ce personnage depuis votre arrivée.</span> }
      </div>
      @if (historique().length) {
        <table class="table-audit" data-testid="historique">
          <tr><th>#</th><th>Événement</th><th>Détail</th><th>Heure</th><th>Corrélation</th></tr>
          @for (e of historique(); track e.sequence) {
            <tr><td>{{ e.sequence }}</td><td><code>{{ e.type }}</code></td><td>{{ detail(e) }}</td><td>{{ heure(e.horodatage) }}</td><td><code>{{ e.correlation_id?.slice(0, 8) }}</code></td></tr>
          }
        </table>
      }
    </section>
    <section class="carte">
      <h2>Grand livre <button class="bouton petit" (click)="chargerLivre()" data-testid="recharger-livre">Actualiser</button></h2>
      <table class="table-audit" data-testid="grand-livre">
        <tr><th>#</th><th>Ressource</th><th>Mouvement</th><th>Solde</th><th>Cause</th><th>Heure</th></tr>
        @for (m of livre(); track $index) {
          <tr [attr.data-cause]="m.cause" [attr.data-ressource]="m.ressource">
            <td>{{ m.sequence }}</td>
            <td>{{ m.ressource === 'or' ? 'Or' : nom(m.ressource) }}</td>
            <td [class]="m.delta > 0 ? 'plus' : 'moins'">{{ m.delta > 0 ? '+' : '' }}{{ m.delta }}</td>
            <td>{{ m.solde_apres }}</td>
            <td>{{ cause(m.cause) }}</td>
            <td>{{ heure(m.horodatage) }}</td>
          </tr>
        }
      </table>
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

  ngOnInit(): void {
    const c = this.jeu.combatsConnus()[0];
    if (c) this.voir(c);
    this.chargerLivre();
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
  cause(c: string) { return CAUSES[c] ?? c; }
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
