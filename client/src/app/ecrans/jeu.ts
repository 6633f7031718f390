// The game's frame: the character's banner (level, XP, gold, connection), the screens' tabs,
// the chat on the right, the notices.
import { Component, OnInit, computed, inject } from '@angular/core';
import { Router, RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { nomZone, paliersXp } from '../donnees/catalogue';
import { JeuService } from '../noyau/jeu.service';
import { RpcService } from '../noyau/rpc.service';
import { SessionService } from '../noyau/session.service';
import { PanneauChat } from './chat';

@Component({
  selector: 'app-jeu',
  imports: [RouterOutlet, RouterLink, RouterLinkActive, PanneauChat],
  template: `
  @if (jeu.personnage(); as p) {
  <div class="jeu">
    <header class="hud" data-testid="hud">
      <h1 class="logo petit">Ambrelune</h1>
      <div class="hud-perso">
        <span class="blason" [class]="'blason classe-' + p.classe">{{ p.classe.charAt(0) }}</span>
        <div>
          <div class="hud-nom"><b data-testid="nom">{{ p.nom }}</b> <span class="badge" [class]="'badge classe-' + p.classe">{{ p.classe }}</span> <span class="niveau" data-testid="niveau">niv. {{ p.niveau }}</span></div>
          <div class="barre xp" title="Expérience"><div [style.width.%]="pctXp()"></div><span data-testid="xp" [attr.data-xp]="p.xp">{{ p.xp }} XP{{ prochain() }}</span></div>
        </div>
      </div>
      <div class="hud-or" data-testid="or" [attr.data-or]="jeu.inventaire().or"><span class="piece"></span>{{ jeu.inventaire().or }} po</div>
      <div class="hud-zone">{{ zoneNom() }}</div>
      <div class="connexion" [class]="'connexion etat-' + rpc.etat()" data-testid="connexion" [attr.data-etat]="rpc.etat()">
        <span class="point"></span>{{ etatTexte() }}
      </div>
      <nav class="onglets-jeu">
        <a routerLink="/jeu/monde" routerLinkActive="actif" data-testid="nav-monde">Monde</a>
        <a routerLink="/jeu/combat" routerLinkActive="actif" data-testid="nav-combat">Combat @if (jeu.combat()?.phase === 'en_cours' || jeu.combat()?.phase === 'preparation') {<span class="pastille">!</span>}</a>
        <a routerLink="/jeu/quetes" routerLinkActive="actif" data-testid="nav-quetes">Quêtes</a>
        <a routerLink="/jeu/inventaire" routerLinkActive="actif" data-testid="nav-inventaire">Inventaire @if (jeu.echangesOuverts().length) {<span class="pastille">{{ jeu.echangesOuverts().length }}</span>}</a>
        <a routerLink="/jeu/audit" routerLinkActive="actif" data-testid="nav-audit">Chroniques</a>
        <a (click)="personnages()" class="discret" data-testid="nav-personnages" title="Changer de personnage">Héros</a>
      </nav>
    </header>
    @if (rpc.etat() === 'reconnexion') {
      <div class="bandeau-reconnexion" data-testid="bandeau-reconnexion">Connexion au serveur perdue — reconnexion en cours… Ce qui se passe pendant ce temps sera rattrapé.</div>
    }
    <main class="jeu-centre"><router-outlet /></main>
    <aside class="jeu-droite"><app-chat /></aside>
    <div class="avis" data-testid="avis">
      @for (a of jeu.avis(); track a.id) { <div class="avis-ligne" [class]="'avis-ligne ' + a.genre">{{ a.texte }}</div> }
    </div>
  </div>
  } @else {
    <p class="chargement">Chargement du personnage…</p>
  }`,
})
export class EcranJeu implements OnInit {
  readonly jeu = inject(JeuService);
  readonly rpc = inject(RpcService);
  private readonly sessions = inject(SessionService);
  private readonly router = inject(Router);

  readonly pctXp = computed(() => {
    const p = this.jeu.personnage();
    if (!p) return 0;
    const { bas, haut } = paliersXp(p.niveau);
    return haut === null ? 100 : Math.max(0, Math.min(100, (100 * (p.xp - bas)) / (haut - bas)));
  });
  readonly prochain = computed(() => {
    const p = this.jeu.personnage();
    const h = p ? paliersXp(p.niveau).haut : null;
    return h === null ? '' : ` / ${h}`;
  });
  readonly zoneNom = computed(() => nomZone(this.jeu.zone()?.code ?? ''));
  readonly etatTexte = computed(() => ({ en_ligne: 'En ligne', connexion: 'Connexion…', reconnexion: 'Reconnexion…', hors_ligne: 'Hors ligne' })[this.rpc.etat()]);

  async ngOnInit(): Promise<void> {
    if (!this.sessions.session()) { await this.router.navigateByUrl('/connexion'); return; }
    if (this.jeu.personnage()) return;
    const id = sessionStorage.getItem('mmo.personnage');
    if (!id) { await this.router.navigateByUrl('/personnages'); return; }
    try {
      await this.jeu.jouer(id);
    } catch (e) {
      this.jeu.erreur(e);
      await this.router.navigateByUrl('/personnages');
    }
  }

  async personnages(): Promise<void> {
    this.jeu.quitterPartie();
    await this.router.navigateByUrl('/personnages');
  }
}
