// Find an account: by the start of its login or of one of its characters' names (`mj.chercher`).
import { Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { RouterLink } from '@angular/router';
import { CompteTrouve, ConsoleService } from '../../noyau/console.service';

@Component({
  selector: 'app-console-recherche',
  imports: [FormsModule, RouterLink],
  template: `
  <section class="carte">
    <h2>Trouver un joueur</h2>
    <form class="ligne-formulaire" (ngSubmit)="chercher()">
      <input name="texte" [(ngModel)]="texte" minlength="2" maxlength="64" required autocomplete="off"
        placeholder="Début d’un login ou d’un nom de personnage (2 lettres au moins)" data-testid="recherche-texte">
      <button class="bouton principal" type="submit" [disabled]="texte.trim().length < 2" data-testid="recherche-valider">Chercher</button>
    </form>
    @if (cherche()) {
      <table class="table-audit" data-testid="resultats">
        <tr><th>Compte</th><th>Créé le</th><th>Personnages</th><th></th></tr>
        @for (c of comptes(); track c.compte_id) {
          <tr [attr.data-login]="c.login">
            <td><b>{{ c.login }}</b><br><code>{{ c.compte_id.slice(0, 8) }}</code></td>
            <td>{{ date(c.cree_le) }}</td>
            <td>
              @for (p of c.personnages; track p.joueur_id) {
                <span class="perso-trouve"><span class="badge" [class]="'badge classe-' + p.classe">{{ p.classe ?? '?' }}</span> {{ p.nom }} <span class="niveau">niv. {{ p.niveau ?? '…' }}</span></span>
              } @empty { <span class="vide">aucun</span> }
            </td>
            <td><a class="bouton petit" [routerLink]="['/admin/comptes', c.compte_id]" data-testid="ouvrir-compte">Ouvrir le dossier</a></td>
          </tr>
        } @empty {
          <tr><td colspan="4" class="vide">Personne ne commence par « {{ dernier }} ».</td></tr>
        }
      </table>
      @if (suite()) { <button class="bouton petit" (click)="chercher(true)">Comptes suivants…</button> }
    }
  </section>`,
})
export class EcranRecherche {
  private readonly mj = inject(ConsoleService);
  readonly comptes = signal<CompteTrouve[]>([]);
  readonly suite = signal<string | null>(null);
  readonly cherche = signal(false);
  texte = '';
  dernier = '';

  async chercher(plus = false): Promise<void> {
    const texte = plus ? this.dernier : this.texte.trim();
    const r = await this.mj.tenter(() => this.mj.chercher(texte, plus ? this.suite() ?? undefined : undefined));
    if (!r) return;
    this.dernier = texte;
    this.comptes.set(plus ? [...this.comptes(), ...r.comptes] : r.comptes);
    this.suite.set(r.suite ?? null);
    this.cherche.set(true);
  }

  date(d: string): string { return new Date(d).toLocaleDateString('fr-FR'); }
}
