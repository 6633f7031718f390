// One account in the console (`/admin/comptes/:compte_id`): who it is and its characters, its
// moderation file (`mj.dossier`) beside the actions, its timeline, and time travel in any of
// its aggregates — three tabs of one screen, the timeline leading to time travel.
import { Component, inject, signal } from '@angular/core';
import { ActivatedRoute } from '@angular/router';
import { nomZone } from '../../donnees/catalogue';
import { ConsoleService, Dossier, PersonnageTrouve, PointDuTemps, Sujet } from '../../noyau/console.service';
import { PanneauActions } from './actions';
import { PanneauChronologie } from './chronologie';
import { PanneauVoyage } from './voyage';

type Vue = 'dossier' | 'chronologie' | 'voyage';

const ENTREES: Record<string, string> = {
  CompteBanni: 'Banni', CompteRetabli: 'Rétabli', CompteExpulse: 'Expulsé',
  PersonnageMusele: 'Réduit au silence', PersonnageDeplace: 'Déplacé',
};

@Component({
  selector: 'app-console-compte',
  imports: [PanneauActions, PanneauChronologie, PanneauVoyage],
  template: `
  @if (dossier(); as d) {
    <section class="carte compte-tete" data-testid="compte" [attr.data-login]="d.login" [attr.data-banni]="!!d.bannissement">
      <div>
        <h2>{{ d.login }} <code>{{ d.compte_id }}</code></h2>
        @if (d.bannissement; as b) {
          <p class="erreur" data-testid="statut-ban">Banni {{ b.jusqu_a ? 'jusqu’au ' + date(b.jusqu_a) : 'sans date de fin' }} : « {{ b.raison }} »</p>
        } @else { <p class="info" data-testid="statut-ban">En règle : aucun bannissement en vigueur.</p> }
      </div>
      <div class="persos-compte">
        @for (p of personnages(); track p.joueur_id) {
          <span class="perso-trouve" [attr.data-joueur]="p.joueur_id"><span class="badge" [class]="'badge classe-' + p.classe">{{ p.classe ?? '?' }}</span> <b>{{ p.nom }}</b> niv. {{ p.niveau ?? '…' }}</span>
        } @empty { <span class="vide">Aucun personnage.</span> }
      </div>
    </section>

    <div class="onglets petits onglets-console">
      <button [class.actif]="vue() === 'dossier'" (click)="vue.set('dossier')" data-testid="onglet-dossier">Dossier et actions</button>
      <button [class.actif]="vue() === 'chronologie'" (click)="vue.set('chronologie')" data-testid="onglet-chronologie">Chronologie</button>
      <button [class.actif]="vue() === 'voyage'" (click)="vue.set('voyage')" data-testid="onglet-voyage">Voyage dans le temps</button>
    </div>

    @switch (vue()) {
      @case ('dossier') {
        <div class="deux-colonnes">
          <section class="carte">
            <h2>Dossier de modération</h2>
            <table class="table-audit" data-testid="dossier">
              <tr><th>#</th><th>Quand</th><th>Quoi</th><th>Par</th><th>Raison</th></tr>
              @for (e of d.entrees; track e.sequence) {
                <tr [attr.data-type]="e.type">
                  <td>{{ e.sequence }}</td><td>{{ date(e.horodatage) }}</td><td>{{ entree(e.type) }}{{ complement(e) }}</td>
                  <td>{{ mj.auteur(e.par) }}</td><td>{{ e.donnees?.raison }}</td>
                </tr>
              } @empty { <tr><td colspan="5" class="vide">Aucune action de maître du jeu sur ce compte.</td></tr> }
            </table>
          </section>
          <app-console-actions [dossier]="d" [personnages]="personnages()" (fait)="charger(d.compte_id)" />
        </div>
      }
      @case ('chronologie') {
        <div class="onglets petits">
          <span class="petit-texte">Suivre :</span>
          <button [class.actif]="'compte_id' in sujet()" (click)="sujet.set({ compte_id: d.compte_id })" data-testid="sujet-compte">tout le compte</button>
          @for (p of personnages(); track p.joueur_id) {
            <button [class.actif]="suit(p.joueur_id)" (click)="sujet.set({ joueur_id: p.joueur_id })" [attr.data-testid]="'sujet-' + p.nom">{{ p.nom }}</button>
          }
        </div>
        <app-console-chronologie [sujet]="sujet()" (voyager)="voyager($event)" />
      }
      @case ('voyage') {
        <div class="onglets petits">
          <span class="petit-texte">Agrégat :</span>
          <button (click)="voyager({ aggregate_type: 'Moderation', aggregate_id: d.compte_id, sequence: 1 })">Dossier</button>
          @for (p of personnages(); track p.joueur_id) {
            <button (click)="voyager({ aggregate_type: 'Joueur', aggregate_id: p.joueur_id, sequence: 1 })">{{ p.nom }}</button>
            <button (click)="voyager({ aggregate_type: 'Inventaire', aggregate_id: p.joueur_id, sequence: 1 })" [attr.data-testid]="'voyage-inventaire-' + p.nom">Inventaire de {{ p.nom }}</button>
          }
        </div>
        <app-console-voyage [point]="point()" />
      }
    }
  } @else {
    <p class="chargement">Lecture du dossier…</p>
  }`,
})
export class EcranCompte {
  readonly mj = inject(ConsoleService);
  readonly dossier = signal<Dossier | null>(null);
  readonly personnages = signal<PersonnageTrouve[]>([]);
  readonly vue = signal<Vue>('dossier');
  readonly sujet = signal<Sujet>({ compte_id: '' });
  readonly point = signal<PointDuTemps | null>(null);

  constructor() {
    // One account per visit of the route: a new id reads everything again.
    inject(ActivatedRoute).paramMap.subscribe((p) => {
      const compte = p.get('compte_id');
      if (!compte) return;
      this.dossier.set(null);
      this.point.set(null);
      this.vue.set('dossier');
      this.sujet.set({ compte_id: compte });
      this.charger(compte);
    });
  }

  async charger(compteId: string): Promise<void> {
    const d = await this.mj.tenter(() => this.mj.dossier(compteId));
    if (!d) return;
    const persos = await this.mj.tenter(() => this.mj.personnagesDe(compteId, d.login));
    this.personnages.set(persos ?? []);
    this.dossier.set(d);
  }

  suit(joueurId: string): boolean {
    const s = this.sujet();
    return 'joueur_id' in s && s.joueur_id === joueurId;
  }

  voyager(p: PointDuTemps): void {
    this.point.set({ ...p });
    this.vue.set('voyage');
  }

  entree(type: string): string { return ENTREES[type] ?? type; }
  complement(e: { type: string; donnees: any }): string {
    const d = e.donnees ?? {};
    if (e.type === 'CompteBanni') return d.jusqu_a ? ` jusqu’au ${this.date(d.jusqu_a)}` : ' sans fin';
    if (e.type === 'PersonnageMusele') return ` (${Math.round((d.duree_s ?? 0) / 60)} min)`;
    if (e.type === 'PersonnageDeplace') return ` vers ${nomZone(d.zone)} (${d.position?.x}, ${d.position?.y})`;
    return '';
  }
  date(d: string): string { return new Date(d).toLocaleString('fr-FR', { dateStyle: 'short', timeStyle: 'medium' }); }
}
