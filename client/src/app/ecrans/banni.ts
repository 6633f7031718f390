// Over every screen when the account is banned (close code 4403 or `COMPTE_BANNI`, §4.10):
// what happened, in one sentence, and what the player can still do. The socket stays closed.
import { Component, computed, inject } from '@angular/core';
import { Router } from '@angular/router';
import { phraseBannissement } from '../noyau/erreurs';
import { JeuService } from '../noyau/jeu.service';
import { RpcService } from '../noyau/rpc.service';
import { SessionService } from '../noyau/session.service';

@Component({
  selector: 'app-banni',
  template: `
  @if (rpc.banni(); as b) {
    <div class="voile" role="alertdialog" aria-labelledby="titre-banni">
      <section class="carte fenetre-banni" data-testid="banni">
        <h2 id="titre-banni">Compte banni</h2>
        <p class="phrase-banni" data-testid="banni-phrase">{{ phrase() }}</p>
        <p class="petit-texte">La connexion au jeu est fermée et ne se rouvrira pas d’elle-même.
          @if (b.jusqu_a) { Une fois cette date passée, réessayez. } @else { Pour contester, écrivez à l’équipe du jeu. }</p>
        <div class="boutons">
          <button class="bouton" (click)="rpc.reessayer()" data-testid="banni-reessayer">Réessayer</button>
          <button class="bouton discret" (click)="deconnecter()" data-testid="banni-deconnecter">Se déconnecter</button>
        </div>
      </section>
    </div>
  }`,
})
export class VoileBanni {
  readonly rpc = inject(RpcService);
  private readonly sessions = inject(SessionService);
  private readonly jeu = inject(JeuService);
  private readonly router = inject(Router);
  readonly phrase = computed(() => {
    const b = this.rpc.banni();
    return b ? phraseBannissement(b.raison, b.jusqu_a) : '';
  });

  async deconnecter(): Promise<void> {
    this.rpc.banni.set(null);
    this.rpc.arreter();
    this.jeu.quitterPartie();
    await this.sessions.deconnecter();
    await this.router.navigateByUrl('/connexion');
  }
}
