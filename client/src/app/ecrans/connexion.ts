import { Component, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Router } from '@angular/router';
import { enErreurJeu } from '../noyau/erreurs';
import { SessionService } from '../noyau/session.service';

@Component({
  selector: 'app-connexion',
  imports: [FormsModule],
  template: `
  <div class="ecran-accueil">
    <div class="accueil-titre">
      <h1 class="logo">Ambrelune</h1>
      <p class="slogan">Tank, DPS ou Heal : la plaine vous attend, les loups aussi.</p>
    </div>
    <form class="carte panneau-connexion" (ngSubmit)="valider()" data-testid="form-connexion">
      <div class="onglets">
        <button type="button" [class.actif]="mode() === 'connexion'" (click)="mode.set('connexion')" data-testid="onglet-connexion">Connexion</button>
        <button type="button" [class.actif]="mode() === 'inscription'" (click)="mode.set('inscription')" data-testid="onglet-inscription">Créer un compte</button>
      </div>
      <label>Nom de compte
        <input name="login" [(ngModel)]="login" autocomplete="username" required data-testid="login" placeholder="3 à 32 lettres, chiffres, . _ -">
      </label>
      <label>Mot de passe
        <input name="mdp" type="password" [(ngModel)]="motDePasse" autocomplete="current-password" required data-testid="mot-de-passe" placeholder="10 caractères au moins">
      </label>
      @if (erreur()) { <p class="erreur" data-testid="erreur">{{ erreur() }}</p> }
      @if (info()) { <p class="info">{{ info() }}</p> }
      <button class="bouton principal" type="submit" [disabled]="occupe()" data-testid="valider">
        {{ mode() === 'connexion' ? 'Entrer dans le monde' : 'Créer mon compte et entrer' }}
      </button>
    </form>
    <ul class="atouts">
      <li><span class="blason mini classe-Tank">T</span> Encaissez pour le groupe</li>
      <li><span class="blason mini classe-DPS">D</span> Frappez fort, frappez vite</li>
      <li><span class="blason mini classe-Heal">H</span> Gardez-les tous debout</li>
    </ul>
    <div class="lune" aria-hidden="true"></div>
    <div class="paysage" aria-hidden="true"></div>
  </div>`,
})
export class EcranConnexion {
  private readonly sessions = inject(SessionService);
  private readonly router = inject(Router);
  readonly mode = signal<'connexion' | 'inscription'>('connexion');
  readonly erreur = signal<string | null>(null);
  readonly info = signal<string | null>(null);
  readonly occupe = signal(false);
  login = '';
  motDePasse = '';

  async valider(): Promise<void> {
    this.erreur.set(null);
    this.occupe.set(true);
    try {
      if (this.mode() === 'inscription') {
        await this.sessions.inscrire(this.login.trim(), this.motDePasse);
        this.info.set('Compte créé : bienvenue !');
      }
      await this.sessions.connecter(this.login.trim(), this.motDePasse);
      await this.router.navigateByUrl('/personnages');
    } catch (e) {
      this.erreur.set(enErreurJeu(e).humain);
    } finally {
      this.occupe.set(false);
    }
  }
}
