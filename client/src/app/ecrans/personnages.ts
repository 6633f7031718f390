import { Component, OnInit, inject, signal } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Router, RouterLink } from '@angular/router';
import { CATALOGUE, CLASSES, Classe, paliersXp, statsDe } from '../donnees/catalogue';
import { enErreurJeu } from '../noyau/erreurs';
import { JeuService, Personnage } from '../noyau/jeu.service';
import { RpcService } from '../noyau/rpc.service';
import { SessionService } from '../noyau/session.service';

@Component({
  selector: 'app-personnages',
  imports: [FormsModule, RouterLink],
  template: `
  <div class="ecran-personnages">
    <header class="entete-simple">
      <h1 class="logo petit">Ambrelune</h1>
      <span class="compte">Compte <b>{{ sessions.session()?.login }}</b></span>
      @if (sessions.session()?.admin) {
        <a class="bouton" routerLink="/admin" data-testid="vers-console">Console du maître du jeu</a>
      }
      <button class="bouton discret" (click)="deconnecter()" data-testid="deconnecter">Se déconnecter</button>
    </header>
    <h2>Vos personnages</h2>
    <div class="liste-persos" data-testid="personnages">
      @for (p of personnages(); track p.joueur_id) {
        <div [class]="'carte perso classe-' + p.classe" [attr.data-classe]="p.classe" [attr.data-nom]="p.nom">
          <div class="blason" [class]="'blason classe-' + p.classe">{{ p.classe?.charAt(0) }}</div>
          <div class="perso-infos">
            <h3>{{ p.nom }}</h3>
            <p><span class="badge" [class]="'badge classe-' + p.classe">{{ p.classe }}</span> niveau {{ p.niveau ?? '…' }} · {{ p.xp ?? 0 }} XP</p>
            <div class="barre xp"><div [style.width.%]="pctXp(p)"></div></div>
            @if (p.combat_id) { <p class="petit-texte">Engagé dans un combat</p> }
          </div>
          <button class="bouton principal" (click)="jouer(p)" data-testid="jouer">Jouer</button>
        </div>
      } @empty {
        <p class="vide">Aucun personnage pour l’instant : créez votre héros ci-dessous.</p>
      }
    </div>

    @if (personnages().length < max) {
      <h2>Créer un personnage</h2>
      <form class="carte creation" (ngSubmit)="creer()" data-testid="form-creation">
        <label>Nom du héros
          <input name="nom" [(ngModel)]="nom" required data-testid="nom-personnage" placeholder="3 à 16 lettres, commence par une lettre">
        </label>
        <div class="choix-classes">
          @for (c of classes; track c) {
            <button type="button" class="carte classe" [class]="'carte classe classe-' + c" [class.choisie]="classe() === c" (click)="classe.set(c)" [attr.data-testid]="'classe-' + c">
              <div class="classe-tete"><span class="blason" [class]="'blason classe-' + c">{{ c.charAt(0) }}</span><h3>{{ c }}</h3></div>
              <p class="description">{{ def(c).description }}</p>
              <table class="stats">
                <tr><th>PV</th><td>{{ stats(c).pv_max }}</td><td class="barre-stat"><div [style.width.%]="stats(c).pv_max / 1.6"></div></td></tr>
                <tr><th>Attaque</th><td>{{ stats(c).attaque }}</td><td class="barre-stat"><div [style.width.%]="stats(c).attaque * 4"></div></td></tr>
                <tr><th>Défense</th><td>{{ stats(c).defense }}</td><td class="barre-stat"><div [style.width.%]="stats(c).defense * 3"></div></td></tr>
                <tr><th>Soin</th><td>{{ stats(c).soin }}</td><td class="barre-stat"><div [style.width.%]="stats(c).soin * 3.5"></div></td></tr>
                <tr><th>Menace</th><td>{{ def(c).menace_pct }} %</td><td class="barre-stat"><div [style.width.%]="def(c).menace_pct / 2.6"></div></td></tr>
                <tr><th>Critique</th><td>{{ def(c).critique_pct }} %</td><td class="barre-stat"><div [style.width.%]="def(c).critique_pct * 4"></div></td></tr>
              </table>
            </button>
          }
        </div>
        @if (erreur()) { <p class="erreur" data-testid="erreur">{{ erreur() }}</p> }
        <button class="bouton principal" type="submit" [disabled]="occupe()" data-testid="creer">Créer {{ nom || 'mon héros' }}, {{ classe() }}</button>
      </form>
    }
  </div>`,
})
export class EcranPersonnages implements OnInit {
  readonly sessions = inject(SessionService);
  private readonly rpc = inject(RpcService);
  private readonly jeu = inject(JeuService);
  private readonly router = inject(Router);
  readonly personnages = signal<Personnage[]>([]);
  readonly classe = signal<Classe>('Tank');
  readonly erreur = signal<string | null>(null);
  readonly occupe = signal(false);
  readonly classes = CLASSES;
  readonly max = CATALOGUE.regles.personnages_par_compte;
  nom = '';

  def(c: Classe) { return CATALOGUE.classes[c]; }
  stats(c: Classe) { return statsDe(c, 1); }

  pctXp(p: Personnage): number {
    if (!p.niveau) return 0;
    const { bas, haut } = paliersXp(p.niveau);
    return haut === null ? 100 : Math.max(0, Math.min(100, (100 * ((p.xp ?? 0) - bas)) / (haut - bas)));
  }

  async ngOnInit(): Promise<void> {
    this.jeu.quitterPartie();
    this.rpc.demarrer();
    await this.lister();
  }

  async lister(): Promise<void> {
    try {
      const r = await this.rpc.appel<{ personnages: Personnage[] }>('joueur.lister');
      this.personnages.set(r.personnages);
      // After `joueur.creer` the read carries its cursor and shows the new character whole;
      // a character created just before the page was loaded may not be projected yet.
      if (r.personnages.some((p) => p.classe === null)) setTimeout(() => this.lister(), 300);
    } catch (e) {
      this.erreur.set(enErreurJeu(e).humain);
    }
  }

  async creer(): Promise<void> {
    this.erreur.set(null);
    this.occupe.set(true);
    try {
      await this.rpc.commande('joueur.creer', { nom: this.nom.trim(), classe: this.classe() });
      this.nom = '';
      await this.lister();
    } catch (e) {
      this.erreur.set(enErreurJeu(e).humain);
    } finally {
      this.occupe.set(false);
    }
  }

  async jouer(p: Personnage): Promise<void> {
    try {
      await this.jeu.jouer(p.joueur_id);
      await this.router.navigateByUrl('/jeu/monde');
    } catch (e) {
      this.erreur.set(enErreurJeu(e).humain);
    }
  }

  async deconnecter(): Promise<void> {
    this.rpc.arreter();
    await this.sessions.deconnecter();
    await this.router.navigateByUrl('/connexion');
  }
}
