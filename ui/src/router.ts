// Screens and the guard that keeps each role to its own (roles.ts). Hash history works the same
// in a LAN browser and in the desktop window (tauri://localhost).
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'
import { canOpen, homeFor, type Screen } from './roles'
import { session } from './session'

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue') },
  {
    path: '/',
    component: () => import('./layout/AppLayout.vue'),
    children: [
      { path: '', name: 'home', component: { render: () => null } },
      { path: 'today', name: 'today', component: () => import('./views/TodayView.vue'), meta: { screen: 'today' } },
      { path: 'register', name: 'register', component: () => import('./views/RegisterView.vue'), meta: { screen: 'register' } },
      { path: 'studies', name: 'studies', component: () => import('./views/StudiesView.vue'), meta: { screen: 'studies' } },
      {
        path: 'studies/:uid',
        name: 'study',
        component: () => import('./views/StudyView.vue'),
        meta: { screen: 'studies' },
        props: true,
      },
      {
        // Cornerstone3D is large: it loads with this screen only, never with the rest of the UI.
        path: 'viewer/:uid',
        name: 'viewer',
        component: () => import('./views/ViewerView.vue'),
        meta: { screen: 'viewer' },
        props: true,
      },
      { path: 'reports', name: 'reports', component: () => import('./views/ReportsView.vue'), meta: { screen: 'reports' } },
      { path: 'dashboard', name: 'dashboard', component: () => import('./views/DashboardView.vue'), meta: { screen: 'dashboard' } },
      { path: 'settings', name: 'settings', component: () => import('./views/SettingsView.vue'), meta: { screen: 'settings' } },
      { path: 'upkeep', name: 'upkeep', component: () => import('./views/UpkeepView.vue'), meta: { screen: 'upkeep' } },
      { path: 'forbidden', name: 'forbidden', component: () => import('./views/ForbiddenView.vue') },
    ],
  },
  { path: '/:rest(.*)*', redirect: '/' },
]

export function makeRouter() {
  const router = createRouter({ history: createWebHashHistory(), routes })
  router.beforeEach((to) => {
    const user = session.user
    if (to.name === 'login') return user ? { name: homeFor(user.role) ?? 'forbidden' } : true
    if (!user) return { name: 'login', query: { next: to.fullPath } }
    if (to.name === 'home') return { name: homeFor(user.role) ?? 'forbidden' }
    const screen = to.meta.screen as Screen | undefined
    if (screen && !canOpen(user.role, screen)) return { name: 'forbidden', query: { from: to.fullPath } }
    return true
  })
  return router
}
