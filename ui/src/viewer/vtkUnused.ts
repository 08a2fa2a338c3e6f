// Stands in for vtk.js' 3D mesh readers (PLY, STL, OBJ/MTL, XML PolyData), which Cornerstone
// imports for surface rendering and its orientation cube: a 2D viewer never uses them, and the
// XML reader needs Node's `events` module, which breaks the bundle in a browser. Vite maps
// them here (vite.config.ts).
export default {
  newInstance(): never {
    throw new Error('3D mesh readers are not part of the station viewer')
  },
}
