// The chat panel: the zone, the whole world, the combat's party, private messages.
// An invitation to a combat (« [combat:<id>] » in a message) shows as a « Rejoindre » button.
// Another player's message can be reported to the game masters (⚑, with a reason).
import { Component, ElementRef, computed, effect, inject, signal, viewChild } from '@angular/core';
import { FormsModule } from '@angular/forms';
import { Router } from '@angular/router';
import { Canal, JeuService } from '../noyau/jeu.service';
import { MessageChat } from '../noyau/rpc.service';

const INVITATION = /\s*\[combat:([0-9a-f-]{36})\]/;

@Component({
  selector: 'app-chat',
  imports: [FormsModule],
  template: `
  <section class="chat carte" data-testid="chat">
    <div class="onglets petits">
      <button [class.actif]="jeu.canal().type === 'zone'" (click)="ouvrir({ type: 'zone' })" data-testid="canal-zone">Zone</button>
      <button [class.actif]="jeu.canal().type === 'dire'" (click)="ouvrir({ type: 'dire' })" data-testid="canal-dire" title="Ceux qui vous voient">Dire</button>
      <button [class.actif]="jeu.canal().type === 'monde'" (click)="ouvrir({ type: 'monde' })" data-testid="canal-monde">Monde</button>
      @if (jeu.combat(); as c) {
        <button [class.actif]="jeu.canal().type === 'groupe'" (click)="ouvrir({ type: 'groupe', combat_id: c.id })" data-testid="canal-groupe">Groupe</button>
      }
      @if (prive(); as d) {
        <button [class.actif]="jeu.canal().type === 'prive'" (click)="ouvrir({ type: 'prive', destinataire: d })" data-testid="canal-prive">{{ jeu.nomDe(d) }}</button>
      }
    </div>
    @if (aSignaler(); as m) {
      <form class="signalement" (ngSubmit)="envoyerSignalement(m)" data-testid="form-signalement">
        <span>Signaler <b>{{ m.nom }}</b> aux maîtres du jeu</span>
        <input name="raison-signalement" [(ngModel)]="raisonSignalement" maxlength="500" required placeholder="Pourquoi ? (obligatoire)" data-testid="signalement-raison" autocomplete="off">
        <div class="boutons">
          <button class="bouton petit danger" type="submit" [disabled]="!raisonSignalement.trim()" data-testid="signalement-envoyer">Signaler</button>
          <button class="bouton petit discret" type="button" (click)="aSignaler.set(null)">Annuler</button>
        </div>
      </form>
    }
    <div class="messages" #liste data-testid="messages">
      @for (m of jeu.messagesDuCanal(); track m.id) {
        <div class="message" [class.moi]="m.de === jeu.personnage()?.joueur_id" [attr.data-de]="m.nom">
          <span class="heure">{{ heure(m) }}</span>
          <button class="auteur" (click)="chuchoter(m)" title="Message privé">{{ m.nom }}</button>
          <span class="texte">{{ texte(m) }}</span>
          @if (m.de !== jeu.personnage()?.joueur_id) {
            <button class="signaler" (click)="ouvrirSignalement(m)" title="Signaler ce joueur" data-testid="signaler">⚑</button>
          }
          @if (invitation(m); as id) {
            <button class="bouton petit principal" (click)="rejoindre(id)" data-testid="rejoindre-invitation">Rejoindre le combat</button>
          }
        </div>
      } @empty { <p class="vide">Rien encore. Dites bonjour !</p> }
    </div>
    <form class="saisie" (ngSubmit)="envoyer()">
      <input name="texte" [(ngModel)]="brouillon" maxlength="500" [placeholder]="'Écrire (' + nomCanal() + ')…'" data-testid="chat-saisie" autocomplete="off">
      <button class="bouton" type="submit" data-testid="chat-envoyer">Envoyer</button>
    </form>
  </section>`,
})
export class PanneauChat {
  readonly jeu = inject(JeuService);
  private readonly router = inject(Router);
  private readonly liste = viewChild<ElementRef<HTMLElement>>('liste');
  brouillon = '';
  raisonSignalement = '';
  /** The message whose author is being reported. */
  readonly aSignaler = signal<MessageChat | null>(null);
  readonly prive = this.jeu.dernierPrive;
  readonly nomCanal = computed(() => ({ zone: 'zone', dire: 'à voix haute', monde: 'monde', groupe: 'groupe', prive: 'privé' })[this.jeu.canal().type]);

  constructor() {
    effect(() => {
      this.jeu.messagesDuCanal();
      const el = this.liste()?.nativeElement;
      if (el) setTimeout(() => (el.scrollTop = el.scrollHeight));
    });
  }

  ouvrir(c: Canal): void { this.jeu.chargerCanal(c).catch((e) => this.jeu.erreur(e)); }

  chuchoter(m: MessageChat): void {
    if (m.de === this.jeu.personnage()?.joueur_id) return;
    this.ouvrir({ type: 'prive', destinataire: m.de });
  }

  async envoyer(): Promise<void> {
    const t = this.brouillon;
    if (!t.trim()) return;
    this.brouillon = '';
    if (!(await this.jeu.envoyer(t))) this.brouillon = t;
  }

  ouvrirSignalement(m: MessageChat): void {
    this.raisonSignalement = '';
    this.aSignaler.set(m);
  }

  async envoyerSignalement(m: MessageChat): Promise<void> {
    if (await this.jeu.signalerJoueur(m.de, this.raisonSignalement)) this.aSignaler.set(null);
  }

  texte(m: MessageChat): string { return m.texte.replace(INVITATION, ''); }
  invitation(m: MessageChat): string | null {
    const id = INVITATION.exec(m.texte)?.[1] ?? null;
    if (!id || m.de === this.jeu.personnage()?.joueur_id) return null;
    return this.jeu.combat()?.id === id ? null : id;
  }
  heure(m: MessageChat): string { return new Date(m.horodatage).toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' }); }

  async rejoindre(id: string): Promise<void> {
    if (await this.jeu.rejoindreCombat(id)) await this.router.navigateByUrl('/jeu/combat');
  }
}
