// Time travel (`mj.etat_a`, `mj.difference`): an aggregate as it was after any of its events,
// stepped through event by event, and what changed between two of them — by default, from the
// chosen event to now (« where did my sword go? »).
import { Component, computed, effect, inject, input, signal, untracked } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { nomItem } from '../../donnees/catalogue';
import { Changement, ConsoleService, EtatAgregat, PointDuTemps } from '../../noyau/console.service';

@Component({
  selector: 'app-console-voyage',
  imports: [FormsModule],
  template: `
  @if (point(); as p) {
  <section class="carte voyage" data-testid="voyage" [attr.data-sequence]="etat()?.sequence" [attr.data-longueur]="etat()?.longueur">
    <h2>{{ mj.nomAgregat(p.aggregate_type, p.aggregate_id) }}</h2>
    @if (etat(); as e) {
      <div class="curseur-temps">
        <button class="bouton petit" (click)="aller(e.sequence - 1)" [disabled]="e.sequence <= 0" data-testid="voyage-avant">‹ Avant</button>
        <input type="range" min="0" [max]="e.longueur" [value]="e.sequence" (change)="aller(+$any($event.target).value)" aria-label="Événement">
        <button class="bouton petit" (click)="aller(e.sequence + 1)" [disabled]="e.sequence >= e.longueur" data-testid="voyage-apres">Après ›</button>
        <button class="bouton petit discret" (click)="aller(e.longueur)" [disabled]="e.sequence >= e.longueur">Maintenant</button>
        <span data-testid="voyage-position">{{ e.sequence === 0 ? 'Avant son premier événement' : 'Après l’événement ' + e.sequence }} sur {{ e.longueur }}</span>
      </div>
      <div class="deux-colonnes">
        <div>
          <h3>État à ce moment</h3>
          @if (inventaire(); as inv) {
            <p class="resume-etat" data-testid="etat-resume" [attr.data-or]="inv.or">{{ inv.or }} po ·
              @for (i of inv.items; track i.item) { <span>{{ i.quantite }} × {{ i.nom }}</span>{{ $last ? '' : ', ' }} } @empty { aucun objet }</p>
          }
          <pre class="etat" data-testid="etat">{{ json(e.etat) }}</pre>
        </div>
        <div>
          <h3>Ce qui a changé</h3>
          <div class="ligne-formulaire">
            <label>De l’événement <input type="number" min="0" [max]="e.longueur" [(ngModel)]="de" data-testid="diff-de"></label>
            <label>à l’événement <input type="number" min="0" [max]="e.longueur" [(ngModel)]="a" data-testid="diff-a"></label>
            <button class="bouton" (click)="comparer()" data-testid="comparer">Comparer</button>
          </div>
          @if (changements(); as c) {
            <table class="table-audit" data-testid="difference" [attr.data-de]="compare()?.de" [attr.data-a]="compare()?.a">
              <tr><th>Chemin</th><th>Avant</th><th>Après</th></tr>
              @for (x of c; track x.chemin) {
                <tr [attr.data-chemin]="x.chemin" [class]="'changement ' + x.genre">
                  <td><code>{{ x.chemin }}</code></td>
                  <td class="moins">{{ x.genre === 'ajoute' ? '—' : court(x.avant) }}</td>
                  <td class="plus">{{ x.genre === 'retire' ? '—' : court(x.apres) }}</td>
                </tr>
              } @empty { <tr><td colspan="3" class="vide">Rien n’a changé entre ces deux événements.</td></tr> }
            </table>
          }
        </div>
      </div>
    }
  </section>
  } @else {
    <section class="carte"><p class="vide">Choisissez un événement dans la chronologie (« État ici »), ou un agrégat ci-dessus.</p></section>
  }`,
})
export class PanneauVoyage {
  readonly mj = inject(ConsoleService);
  readonly point = input<PointDuTemps | null>(null);
  readonly etat = signal<EtatAgregat | null>(null);
  readonly changements = signal<Changement[] | null>(null);
  readonly compare = signal<{ de: number; a: number } | null>(null);
  de = 0;
  a = 0;

  /** An inventory's state, summed up as the player would read it. */
  readonly inventaire = computed(() => {
    const c = this.etat()?.etat?.contenu;
    if (this.point()?.aggregate_type !== 'Inventaire' || !c) return null;
    const items = Object.entries((c.items ?? {}) as Record<string, number>).map(([item, quantite]) => ({ item, quantite, nom: nomItem(item) }));
    return { or: c.or as number, items };
  });

  constructor() {
    effect(() => {
      const p = this.point();
      untracked(() => {
        this.etat.set(null);
        this.changements.set(null);
        if (p) this.aller(p.sequence);
      });
    });
  }

  /** The state after event `sequence`, and what changed from it to now. */
  async aller(sequence: number): Promise<void> {
    const p = this.point();
    if (!p) return;
    const e = await this.mj.tenter(() => this.mj.etatA({ ...p, sequence }));
    if (!e || this.point() !== p) return;
    this.etat.set(e);
    this.de = e.sequence;
    this.a = e.longueur;
    await this.comparer();
  }

  async comparer(): Promise<void> {
    const p = this.point();
    if (!p) return;
    const [de, a] = [Number(this.de), Number(this.a)];
    const d = await this.mj.tenter(() => this.mj.difference(p.aggregate_type, p.aggregate_id, de, a));
    if (!d || this.point() !== p) return;
    this.compare.set({ de: d.de, a: d.a });
    this.changements.set(d.changements);
  }

  json(v: unknown): string { return JSON.stringify(v, null, 2); }
  court(v: unknown): string {
    const t = typeof v === 'string' ? v : JSON.stringify(v);
    return t.length > 80 ? `${t.slice(0, 79)}…` : t;
  }
}
