// A combat: the monsters and the party with their HP, who each monster is after (threat),
// the four actions, the live log, and the outcome with each one's loot and XP.
import { Component, OnDestroy, OnInit, computed, inject, signal } from '@angular/core';
import { Router } from '@angular/router';
import { CATALOGUE, nomItem } from '../donnees/catalogue';
import { JeuService } from '../noyau/jeu.service';

@Component({
  selector: 'app-combat',
  template: `
  @if (jeu.combat(); as c) {
  <div class="combat" data-testid="combat" [attr.data-phase]="c.phase" [attr.data-tour]="c.tour">
    <header class="combat-tete carte">
      <div>
        <h2>{{ c.nomRencontre }}</h2>
        <span class="petit-texte">{{ phaseTexte() }}@if (c.phase === 'en_cours') { · tour {{ c.tour }} · encore {{ reste() }} s pour agir}</span>
        @if (c.phase === 'en_cours') { <div class="sablier"><div [style.width.%]="100 * reste() / dureeTour"></div></div> }
      </div>
      <div class="combat-boutons">
        @if (c.phase === 'preparation') {
          @if (c.initiateur === moi()) {
            <button class="bouton principal" (click)="jeu.lancerCombat()" data-testid="lancer">Lancer le combat</button>
          }
          <button class="bouton discret" (click)="jeu.quitterCombat()" data-testid="quitter">{{ c.initiateur === moi() ? 'Annuler' : 'Quitter le groupe' }}</button>
        }
        @if (fini()) { <button class="bouton" (click)="retour()" data-testid="retour-monde">Retour au monde</button> }
      </div>
    </header>

    @if (c.phase === 'victoire' || c.phase === 'defaite') {
      <section class="carte issue" [class]="'carte issue ' + c.phase" data-testid="issue" [attr.data-issue]="c.phase">
        <h2>{{ c.phase === 'victoire' ? 'Victoire !' : 'Défaite…' }}</h2>
        <div class="parts">
          @for (r of c.recompenses; track r.joueur_id) {
            <div class="part" [class.moi]="r.joueur_id === moi()" [attr.data-joueur]="r.joueur_id" [attr.data-xp]="r.xp" [attr.data-or]="r.or">
              <b>{{ nomDe(r.joueur_id) }}</b>
              <span class="gain xp">+{{ r.xp }} XP</span>
              <span class="gain or">+{{ r.or }} po</span>
              @for (i of r.items; track i.item) { <span class="gain item">{{ i.quantite }} × {{ nomItem(i.item) }}</span> }
              @if (!r.items.length) { <span class="petit-texte">pas d’objet cette fois</span> }
            </div>
          }
        </div>
      </section>
    }

    <div class="arene">
      <section class="carte camp monstres">
        <h3>Monstres</h3>
        @for (m of c.monstres; track $index; let i = $index) {
          <div class="combattant monstre" [class.vaincu]="m.pv <= 0" [attr.data-testid]="'monstre-' + i" [attr.data-pv]="m.pv">
            <div class="ligne-nom"><span class="portrait-monstre">{{ m.pv > 0 ? glyphe(m.code) : '☠' }}</span><b>{{ m.nom }} n°{{ i + 1 }}</b> <span class="petit-texte">att. {{ m.attaque }} · déf. {{ m.defense }}</span>
              @if (m.pv > 0 && c.cibleDu(i); as cible) { <span class="vise">vise {{ nomDe(cible) }}</span> }
            </div>
            <div class="barre pv monstre"><div [style.width.%]="100 * m.pv / m.pv_max"></div><span>{{ m.pv }} / {{ m.pv_max }} PV</span></div>
            @if (peutAgir() && m.pv > 0) {
              <button class="bouton petit danger" (click)="jeu.agir({ type: 'attaquer', cible: i })" [attr.data-testid]="'attaquer-' + i">Attaquer</button>
            }
          </div>
        }
      </section>
      <section class="carte camp groupe">
        <h3>Groupe</h3>
        @for (p of c.participants; track p.joueur_id) {
          <div class="combattant" [class.ko]="p.pv <= 0" [class.moi]="p.joueur_id === moi()" [attr.data-joueur]="p.joueur_id" [attr.data-pv]="p.pv">
            <div class="ligne-nom">
              <span class="blason mini" [class]="'blason mini classe-' + p.classe">{{ p.classe.charAt(0) }}</span>
              <b>{{ p.nom }}</b> <span class="petit-texte">{{ p.classe }} niv. {{ p.niveau }}</span>
              @if (c.phase === 'en_cours') { <span class="etat-tour" [class.fait]="p.a_agi">{{ p.pv <= 0 ? 'KO' : p.a_agi ? 'a agi' : 'réfléchit…' }}</span> }
              @if (p.defend) { <span class="etat-tour garde">en garde</span> }
            </div>
            <div class="barre pv"><div [style.width.%]="100 * p.pv / p.stats.pv_max" [class.bas]="p.pv < p.stats.pv_max * 0.35"></div><span>{{ p.pv }} / {{ p.stats.pv_max }} PV</span></div>
            <div class="menace">menace
              @for (m of p.menace; track $index; let i = $index) {
                <span class="menace-val" [class.tete]="c.cibleDu(i) === p.joueur_id">{{ m }}</span>
              }
            </div>
            @if (peutAgir() && moiSoigneur() && p.pv > 0) {
              <button class="bouton petit soin" (click)="jeu.agir({ type: 'soigner', cible: p.joueur_id })" data-testid="soigner">Soigner</button>
            }
          </div>
        }
      </section>
    </div>

    @if (c.phase === 'en_cours') {
      <section class="carte actions" data-testid="actions" [attr.data-peut-agir]="peutAgir()">
        @if (peutAgir()) {
          <span>À vous :</span>
          <button class="bouton danger" (click)="attaquerFaible()" data-testid="action-attaquer">Attaquer</button>
          <button class="bouton soin" [disabled]="!moiSoigneur()" (click)="soignerBlesse()" data-testid="action-soigner">Soigner</button>
          <button class="bouton provoc" (click)="jeu.agir({ type: 'provoquer' })" data-testid="action-provoquer">Provoquer</button>
          <button class="bouton garde" (click)="jeu.agir({ type: 'defendre' })" data-testid="action-defendre">Se défendre</button>
        } @else {
          <span class="petit-texte">{{ moiKo() ? 'Vous êtes KO.' : 'Action choisie : on attend les autres, puis les monstres frappent.' }}</span>
        }
      </section>
    }

    <section class="carte journal-combat" data-testid="journal-combat">
      <h3>Journal du combat</h3>
      <ol>
        @for (l of journalInverse(); track l.sequence) {
          <li [class]="l.genre">{{ l.texte }}</li>
        }
      </ol>
    </section>
  </div>
  } @else {
  <div class="combat-vide">
    <section class="carte">
      <h2>Aucun combat en cours</h2>
      <p>Choisissez des monstres dans la zone, ou rejoignez un combat auquel on vous invite dans le chat.</p>
      <ul class="rencontres larges">
        @for (r of rencontres(); track r.code) {
          <li>
            <div><b>{{ r.nom }}</b> <span class="petit-texte">niveau {{ r.niveau }}</span><br><span class="petit-texte">{{ r.monstres }}</span></div>
            <button class="bouton danger" (click)="jeu.preparerCombat(r.code)" [attr.data-testid]="'preparer-' + r.code">Préparer le combat</button>
          </li>
        } @empty { <li class="vide">Aucun monstre dans cette zone.</li> }
      </ul>
      @if (jeu.derniereErreur()) { <p class="erreur" data-testid="erreur">{{ jeu.derniereErreur() }}</p> }
    </section>
  </div>
  }`,
})
export class EcranCombat implements OnInit, OnDestroy {
  readonly jeu = inject(JeuService);
  private readonly router = inject(Router);
  private readonly maintenant = signal(Date.now());
  private minuteur?: ReturnType<typeof setInterval>;
  nomItem = nomItem;
  readonly dureeTour = CATALOGUE.regles.duree_tour_secondes;
  glyphe(code: string) { return ({ loup: 'ᴥ', sanglier: '♞', araignee_geante: '✵', bandit: '⚔', harpie: '✧', troll_des_cimes: '♜', squelette: '☠', seigneur_liche: '♛' } as Record<string, string>)[code] ?? '✵'; }

  readonly moi = computed(() => this.jeu.personnage()?.joueur_id ?? '');
  readonly fini = computed(() => ['victoire', 'defaite', 'annule'].includes(this.jeu.combat()?.phase ?? ''));
  readonly monParticipant = computed(() => this.jeu.combat()?.participant(this.moi()));
  readonly peutAgir = computed(() => {
    const c = this.jeu.combat(), p = this.monParticipant();
    return c?.phase === 'en_cours' && !!p && p.pv > 0 && !p.a_agi;
  });
  readonly moiKo = computed(() => (this.monParticipant()?.pv ?? 1) <= 0);
  readonly moiSoigneur = computed(() => (this.monParticipant()?.stats.soin ?? 0) > 0);
  readonly journalInverse = computed(() => [...(this.jeu.combat()?.journal ?? [])].reverse());
  readonly reste = computed(() => {
    const e = this.jeu.combat()?.echeance;
    return e ? Math.max(0, Math.round((Date.parse(e) - this.maintenant()) / 1000)) : 0;
  });
  readonly phaseTexte = computed(() => ({ preparation: 'En préparation : le groupe se forme', en_cours: 'Combat en cours', victoire: 'Victoire', defaite: 'Défaite', annule: 'Annulé' })[this.jeu.combat()?.phase ?? 'preparation']);
  readonly rencontres = computed(() => {
    const z = this.jeu.zone()?.code;
    return Object.entries(CATALOGUE.rencontres).filter(([, r]) => r.zone === z)
      .map(([code, r]) => ({ code, nom: r.nom, niveau: r.niveau, monstres: r.monstres.map((m) => CATALOGUE.monstres[m]?.nom ?? m).join(', ') }));
  });

  ngOnInit(): void { this.minuteur = setInterval(() => this.maintenant.set(Date.now()), 500); }
  ngOnDestroy(): void { clearInterval(this.minuteur); }

  nomDe(id: string) { return this.jeu.nomDe(id); }

  attaquerFaible(): void {
    const c = this.jeu.combat();
    if (!c) return;
    let i = -1;
    c.monstres.forEach((m, k) => { if (m.pv > 0 && (i < 0 || m.pv < c.monstres[i].pv)) i = k; });
    if (i >= 0) this.jeu.agir({ type: 'attaquer', cible: i });
  }

  soignerBlesse(): void {
    const c = this.jeu.combat();
    if (!c) return;
    const vivants = c.participants.filter((p) => p.pv > 0).sort((a, b) => a.pv / a.stats.pv_max - b.pv / b.stats.pv_max);
    if (vivants[0]) this.jeu.agir({ type: 'soigner', cible: vivants[0].joueur_id });
  }

  retour(): void {
    this.jeu.fermerCombat();
    this.router.navigateByUrl('/jeu/monde');
  }
}
