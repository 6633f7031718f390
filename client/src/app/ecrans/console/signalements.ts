// The reports queue (`mj.signalements`, oldest first): who reported whom and why, a link to
// the target's file, and closing a report with a note (`mj.traiter_signalement`).
import { Component, OnInit, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { RouterLink } from '@angular/router';
import { ConsoleService, EtatSignalements, Signalement } from '../../noyau/console.service';

@Component({
  selector: 'app-console-signalements',
  imports: [FormsModule, RouterLink],
  template: `
  <section class="carte" data-testid="signalements">
    <h2>Signalements
      <select [(ngModel)]="etat" (ngModelChange)="charger()" aria-label="Lesquels" data-testid="filtre-signalements">
        <option value="ouverts">en attente</option>
        <option value="traites">traités</option>
        <option value="tous">tous</option>
      </select>
      <button class="bouton petit discret" (click)="charger()">Actualiser</button>
    </h2>
    <table class="table-audit">
      <tr><th>N°</th><th>Reçu le</th><th>De</th><th>Contre</th><th>Raison</th><th>Suite</th></tr>
      @for (s of liste(); track s.signalement_id) {
        <tr [attr.data-numero]="s.numero" [attr.data-cible]="s.cible_nom" [attr.data-traite]="!!s.traite_le">
          <td>{{ s.numero }}</td>
          <td>{{ date(s.cree_le) }}</td>
          <td>{{ s.auteur_nom }}</td>
          <td><a [routerLink]="['/admin/comptes', s.cible_compte_id]" data-testid="voir-cible">{{ s.cible_nom }}</a></td>
          <td>{{ s.raison }}</td>
          <td>
            @if (s.traite_le) {
              <span class="petit-texte">Traité le {{ date(s.traite_le) }} par {{ mj.auteur(s.traite_par) }} : « {{ s.note }} »</span>
            } @else {
              <div class="ligne-formulaire">
                <input [(ngModel)]="notes[s.signalement_id]" maxlength="500" placeholder="Note (obligatoire)" data-testid="note">
                <button class="bouton petit" (click)="traiter(s)" [disabled]="!(notes[s.signalement_id] ?? '').trim()" data-testid="clore">Clore</button>
              </div>
            }
          </td>
        </tr>
      } @empty { <tr><td colspan="6" class="vide">{{ etat === 'ouverts' ? 'Aucun signalement en attente.' : 'Aucun signalement.' }}</td></tr> }
    </table>
    @if (suivant() !== null) { <button class="bouton petit" (click)="charger(true)">Plus récents…</button> }
  </section>`,
})
export class EcranSignalements implements OnInit {
  readonly mj = inject(ConsoleService);
  readonly liste = signal<Signalement[]>([]);
  readonly suivant = signal<number | null>(null);
  etat: EtatSignalements = 'ouverts';
  notes: Record<string, string | undefined> = {};

  ngOnInit(): void { this.charger(); }

  async charger(plus = false): Promise<void> {
    const r = await this.mj.tenter(() => this.mj.signalements(this.etat, plus ? this.suivant() ?? undefined : undefined));
    if (!r) return;
    this.liste.set(plus ? [...this.liste(), ...r.signalements] : r.signalements);
    this.suivant.set(r.suivant);
  }

  async traiter(s: Signalement): Promise<void> {
    const clos = await this.mj.tenter(() => this.mj.traiter(s.signalement_id, (this.notes[s.signalement_id] ?? '').trim()));
    if (!clos) return;
    delete this.notes[s.signalement_id];
    // In the open queue it leaves; elsewhere it shows closed.
    this.liste.update((l) => (this.etat === 'ouverts' ? l.filter((x) => x.signalement_id !== s.signalement_id) : l.map((x) => (x.signalement_id === s.signalement_id ? clos : x))));
  }

  date(d: string): string { return new Date(d).toLocaleString('fr-FR', { dateStyle: 'short', timeStyle: 'short' }); }
}
