import { Routes } from '@angular/router';
import { EcranAudit } from './ecrans/audit';
import { EcranCombat } from './ecrans/combat';
import { EcranConnexion } from './ecrans/connexion';
import { EcranCompte } from './ecrans/console/compte';
import { EcranConsole } from './ecrans/console/console';
import { EcranRecherche } from './ecrans/console/recherche';
import { EcranSignalements } from './ecrans/console/signalements';
import { EcranInventaire } from './ecrans/inventaire';
import { EcranJeu } from './ecrans/jeu';
import { EcranMonde } from './ecrans/monde';
import { EcranPersonnages } from './ecrans/personnages';
import { EcranQuetes } from './ecrans/quetes';
import { avecSession } from './noyau/garde';

export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'personnages' },
  { path: 'connexion', component: EcranConnexion, title: 'Ambrelune — connexion' },
  { path: 'personnages', component: EcranPersonnages, canActivate: [avecSession], title: 'Ambrelune — personnages' },
  {
    path: 'jeu', component: EcranJeu, canActivate: [avecSession],
    children: [
      { path: '', pathMatch: 'full', redirectTo: 'monde' },
      { path: 'monde', component: EcranMonde, title: 'Ambrelune — monde' },
      { path: 'combat', component: EcranCombat, title: 'Ambrelune — combat' },
      { path: 'quetes', component: EcranQuetes, title: 'Ambrelune — quêtes' },
      { path: 'inventaire', component: EcranInventaire, title: 'Ambrelune — inventaire' },
      { path: 'audit', component: EcranAudit, title: 'Ambrelune — chroniques' },
    ],
  },
  {
    // The game master's console: the frame tells a non-admin it is closed to it.
    path: 'admin', component: EcranConsole, canActivate: [avecSession],
    children: [
      { path: '', pathMatch: 'full', redirectTo: 'recherche' },
      { path: 'recherche', component: EcranRecherche, title: 'Ambrelune — console : joueurs' },
      { path: 'comptes/:compte_id', component: EcranCompte, title: 'Ambrelune — console : dossier' },
      { path: 'signalements', component: EcranSignalements, title: 'Ambrelune — console : signalements' },
    ],
  },
  { path: '**', redirectTo: 'personnages' },
];
