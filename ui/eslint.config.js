// The web UI's lint (`npm run lint`, run by scripts/test.sh with no warning allowed), beside
// vue-tsc's type check (`npm run build`): Vue's recommended rules and TypeScript's. Layout is
// not linted: the code keeps the layout it is written in.
import pluginVue from 'eslint-plugin-vue'
import { defineConfigWithVueTs, vueTsConfigs } from '@vue/eslint-config-typescript'

const layoutOff = Object.fromEntries(
  Object.entries(pluginVue.rules)
    .filter(([, rule]) => rule.meta?.type === 'layout')
    .map(([name]) => [`vue/${name}`, 'off']),
)

export default defineConfigWithVueTs(
  // Generated from the engine (scripts/gen-api-types.sh), not written here.
  { ignores: ['dist/**', 'src/api/generated/**'] },
  pluginVue.configs['flat/recommended'],
  vueTsConfigs.recommended,
  {
    rules: {
      ...layoutOff,
      // `_name`: a parameter a signature needs but this body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
)
