// The game master's console (`/admin`): its frame. Only an admin account's session opens it
// (the role its token was issued with); any other gets a sentence saying so, and the server
// refuses the `mj.*` methods anyway, checking the account's role at every call.
import { Component, OnInit, inject } from '@angular/core';
import { RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { ConsoleService } from '../../noyau/console.service';
import { RpcService } from '../../noyau/rpc.service';
import { SessionService } from '../../noyau/session.service';

@Component({
  selector: 'app-console',
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  template: `
  <div class="console">
    <header class="entete-simple">
      <h1 class="logo petit">Ambrelune</h1>
      <span class="titre-console">Console du maître du jeu</span>
      @if (admin()) {
        <nav class="onglets-jeu">
          <a routerLink="/admin/recherche" routerLinkActive="actif" data-testid="nav-recherche">Joueurs</a>
          <a routerLink="/admin/signalements" routerLinkActive="actif" data-testid="nav-signalements">Signalements</a>
        </nav>
      }
      <span class="compte">MJ <b>{{ sessions.session()?.login }}</b></span>
      <a class="bouton discret" routerLink="/personnages">Retour au jeu</a>
    </header>
    @if (!admin()) {
      <section class="carte console-refusee" data-testid="console-refusee">
        <h2>Réservé aux maîtres du jeu</h2>
        <p>Le compte « {{ sessions.session()?.login }} » n’est pas maître du jeu : cette console lui est fermée.</p>
        <p class="petit-texte">Un exploitant donne ce rôle avec <code>mmo admin promouvoir {{ sessions.session()?.login }}</code> ; il compte à la connexion suivante.</p>
      </section>
    } @else {
      @if (mj.erreur(); as e) { <p class="erreur" data-testid="console-erreur">{{ e }}</p> }
      <router-outlet />
    }
  </div>`,
})
export class EcranConsole implements OnInit {
  readonly sessions = inject(SessionService);
  readonly mj = inject(ConsoleService);
  private readonly rpc = inject(RpcService);

  admin(): boolean { return this.sessions.session()?.admin === true; }

  ngOnInit(): void {
    this.mj.erreur.set(null);
    const s = this.sessions.session();
    if (s) this.mj.noter(s.compte_id, s.login);
    if (this.admin()) this.rpc.demarrer();
  }
}
